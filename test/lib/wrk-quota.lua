-- wrk script for test/http/soak.test.ts: every wrk thread sends exactly
-- WRK_QUOTA requests, then stops once all of them are answered, so nothing
-- is in flight when wrk exits and its request count can be compared exactly
-- with the server's. WRK_CLOSE=1 adds "Connection: close" to each request.
--
-- wrk's main thread sleeps for the whole -d duration whatever its threads
-- do; each thread prints WRK_THREAD_DONE when finished so the caller can end
-- that sleep with SIGINT. done() prints one WRK_RESULT line to parse.
local quota = tonumber(os.getenv("WRK_QUOTA") or "1000")
local headers = { ["Host"] = "ringside" }
if os.getenv("WRK_CLOSE") == "1" then headers["Connection"] = "close" end
local req = wrk.format("GET", "/", headers)

-- main state
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("index", #threads)
end

-- thread states
local calls, answered, non2xx, phantom = 0, 0, 0, 0

function init(args)
  -- wrk 4.x calls request() once on the first thread's state to check the
  -- request (script_verify_request); that one is never sent.
  if index == 1 then phantom = 1 end
end

function request()
  calls = calls + 1
  -- Past the quota: send nothing; the connection stays idle until exit.
  if calls - phantom > quota then return "" end
  return req
end

function response(status, headers, body)
  answered = answered + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    wrk.thread:set("non2xx", non2xx)
  end
  if answered == quota then
    io.write("WRK_THREAD_DONE\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non2xx") or 0) end
  io.write(string.format(
    "WRK_RESULT requests=%d connect=%d read=%d write=%d status=%d timeout=%d non2xx=%d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, bad))
end
