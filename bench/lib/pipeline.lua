-- wrk script for pipelined mode (bench/lib/wrk.ts): every write carries DEPTH
-- requests back to back, as in TechEmpower's plaintext test. wrk counts each
-- response it parses, so req/s is still requests answered per second.
-- usage: wrk ... -s bench/lib/pipeline.lua URL -- DEPTH
local req

function init(args)
  local depth = tonumber(args[1] or "16")
  local one = wrk.format("GET", "/", { Host = "bench" })
  req = string.rep(one, depth)
end

function request()
  return req
end
