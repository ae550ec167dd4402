-- wrk's side of scripts/bench: the request to send, taken from the
-- environment, and one machine-readable line of results at the end.
--   BENCH_METHOD   GET (default) or POST
--   BENCH_BODY     the request body, sent as JSON
--   BENCH_HEADERS  extra headers, one "Name: value" per line
--   BENCH_STOP_AFTER  stop each thread after this many responses (for the
--                  fixed request counts the instruction counts divide by)

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then
    wrk.headers[name] = value
  end
end

-- Defined only when needed: with a response callback wrk parses every
-- answer, which costs the load generator CPU the server competes for.
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "")
if stop_after then
  local responses = 0
  function response()
    responses = responses + 1
    if responses >= stop_after then
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local failed = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f failed=%d\n",
    summary.requests,
    summary.duration / 1e6,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    failed
  ))
end
