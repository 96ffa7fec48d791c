-- wrk's script for bench/ingest.py --load wrk: each pre-encoded report request sent once, in order, over wrk's
-- keep-alive connections (wrk -t 1 -c N), timed from the first request to the last report's answer.
--
-- Arguments (after wrk's "--"): the file of the requests, written back to back as raw HTTP/1.1, and the file of
-- their lengths in bytes, one a line. Once every report is sent, a connection that is free asks GET /healthz
-- (wrk sends as long as it runs) until bench/ingest.py stops wrk on the line this script prints when the last
-- report is answered: {"count": N, "seconds": S, "cpu_seconds": C, "statuses": {...}}, statuses of the report
-- answers only, C wrk's CPU time (os.clock) over the same span, reading the files left out.
-- done() then prints wrk's latency percentiles and error counts as a second line of JSON.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } hdc_timespec;
  int clock_gettime(int clock, hdc_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("hdc_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

local requests, sent, answered, statuses, started, cpu = {}, 0, 0, {}, nil, nil
local spare, verified = nil, false

function init(args)
  local data = assert(io.open(args[1], "rb")):read("*a")
  local at = 1
  for line in assert(io.open(args[2], "r")):lines() do
    local length = tonumber(line)
    requests[#requests + 1] = data:sub(at, at + length - 1)
    at = at + length
  end
  spare = wrk.format("GET", "/healthz")
end

function request()
  if not verified then
    -- wrk's own first call, before any connection: it parses the answer to count pipelined requests
    verified = true
    return requests[1]
  end
  if sent < #requests then
    sent = sent + 1
    if started == nil then
      started, cpu = now(), os.clock()
    end
    return requests[sent]
  end
  return spare
end

function response(status, headers, body)
  if answered == #requests or (status == 200 and not body:find('"report_id"', 1, true)) then
    return -- a spare /healthz
  end
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if answered == #requests then
    local seconds, cpu_seconds = now() - started, os.clock() - cpu
    local parts = {}
    for code, count in pairs(statuses) do
      parts[#parts + 1] = string.format('"%d": %d', code, count)
    end
    io.write(string.format('{"count": %d, "seconds": %.6f, "cpu_seconds": %.6f, "statuses": {%s}}\n', answered,
                           seconds, cpu_seconds, table.concat(parts, ", ")))
    io.stdout:flush()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"p50_ms": %.3f, "p99_ms": %.3f, "requests": %d, "errors": {"connect": %d, "read": %d, '
                         .. '"write": %d, "status": %d, "timeout": %d}}\n', latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000, summary.requests, e.connect, e.read, e.write, e.status,
                         e.timeout))
end
