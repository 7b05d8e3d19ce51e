-- ctx.sleep inside pcall, in a loop: the timeout must still end it.
return {
  timeout = 1,
  handler = function(event, ctx)
    while true do pcall(ctx.sleep, 10) end
  end,
}
