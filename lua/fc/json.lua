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

-- decode(s) -> value, or nil and a message for text that is not JSON (as
-- the other decoders do: bad input is data, not a program error).
function json.decode(s)
  if type(s) ~= "string" then
    error("bad argument #1 to 'decode' (string expected, got " .. type(s) .. ")", 2)
  end
  local ok, v = pcall(cjson.decode, s)
  if not ok then return nil, (tostring(v):gsub("^.-: ", "", 1)) end
  return fix(v)
end

return json
