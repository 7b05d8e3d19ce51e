-- chatty: prints 2,000 "€" (3 bytes each) and then "pad" ASCII bytes (the
-- event's number), so the 4 KB tail log starts inside the "€" line at an
-- offset the pad moves.
return function(event)
  print(("€"):rep(2000) .. ("x"):rep(tonumber(event) or 0))
  return "said"
end
