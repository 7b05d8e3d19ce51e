-- Answers with JSON describing its context; accepts two qualifiers.
return {
  timeout = 5,
  memory = 256,
  concurrency = 10,
  qualifiers = {"prod", "1"},
  description = "context as JSON",
  handler = function(event, ctx)
    return {
      event = event,
      request_id = ctx.request_id,
      function_name = ctx.function_name,
      qualifier = ctx.qualifier,
      has_deadline = type(ctx.deadline) == "number" and ctx.deadline > os.time() - 1,
      has_key = type(ctx.credentials.access_key_id) == "string",
    }
  end,
}
