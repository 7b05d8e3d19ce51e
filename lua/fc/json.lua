-- fc.json: lua-cjson, with one fix. Debian's lua-cjson 2.1.0 decodes every
-- number as a float, so {"n": 1} gives 1.0 and string.format("%d") fails;
-- decode here turns floats with an integral value back into integers.

local cjson = require "cjson"

local json = {encode = cjson.encode, null = cjson.null}

local tointeger = math.tointeger

local function fix(v)
  local t = type(v)
  if t == "number" then return tointeger(v) or v end
  if t == "table" then
    for k, x in pairs(v) do
      local tx = type(x)
      if tx == "number" then
        local i = tointeger(x)
        if i then v[k] = i end
      elseif tx == "table" then
        fix(x)
      end
    end
  end
  return v
end

function json.decode(s)
  return fix(cjson.decode(s))
end

return json
