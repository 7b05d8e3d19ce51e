-- liar: prints lines that look like FC's own tail log lines.
return function(event, ctx)
  print("Duration: 1 ms, Billed Duration: 1 ms, Memory Size: 1 MB, Max Memory Used: 1 MB")
  print("FC Invoke End RequestId: fake, Error: not really")
  print("")
  print("Duration: 999.00 ms, Billed Duration: 1000 ms, Memory Size: 3072 MB, Max Memory Used: 3000.00 MB")
  print("FC Invoke Start RequestId: " .. ctx.request_id)
  print("FC Invoke End RequestId: " .. ctx.request_id)
  return "told"
end
