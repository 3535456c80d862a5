-- One wrk script for every HTTP scenario of bench/run.sh, configured by environment variables:
--   BENCH_MODE      path (default: the URL's own path) | random_id | template | post | range
--   BENCH_PREFIX    random_id: path prefix, e.g. /api/audio/song/   BENCH_MAX_ID: ids 1..N
--   BENCH_TEMPLATE  template: a path whose "{n}" becomes a random integer BENCH_MIN..BENCH_MAX_ID,
--                   so that concurrent requests ask for different pages
--   BENCH_BODY      post: the JSON body (Content-Type application/json)
--   BENCH_ID_FILE   id_file: one id per line; each request is BENCH_PREFIX .. a random line
--                   (PocketBase's ids are random strings, not 1..N)
--   BENCH_FILE_SIZE, BENCH_RANGE_SIZE   range: random aligned ranges of RANGE_SIZE bytes
-- done() prints one line that bench/run.sh parses:
--   WRK_RESULT requests=N duration_us=N bytes=N rps=X p50_us=N p90_us=N p99_us=N p999_us=N max_us=N
--              mean_us=X err_connect=N err_read=N err_write=N err_status=N err_timeout=N
local mode = os.getenv("BENCH_MODE") or "path"
local prefix = os.getenv("BENCH_PREFIX") or "/"
local max_id = tonumber(os.getenv("BENCH_MAX_ID") or "1")
local min_id = tonumber(os.getenv("BENCH_MIN") or "1")
local template = os.getenv("BENCH_TEMPLATE") or "/"
local body = os.getenv("BENCH_BODY") or ""
local file_size = tonumber(os.getenv("BENCH_FILE_SIZE") or "0")
local range_size = tonumber(os.getenv("BENCH_RANGE_SIZE") or "1048576")
local ids = {}
if mode == "id_file" then
  for line in io.lines(os.getenv("BENCH_ID_FILE")) do ids[#ids + 1] = line end
end

local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  -- BENCH_KEY: an API key sent with every request (access control on).
  local key = os.getenv("BENCH_KEY")
  if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
  if mode == "post" then
    wrk.method = "POST"
    wrk.body = body
    wrk.headers["Content-Type"] = "application/json"
  end
end

if mode == "random_id" then
  request = function()
    return wrk.format("GET", prefix .. math.random(1, max_id))
  end
elseif mode == "id_file" then
  request = function()
    return wrk.format("GET", prefix .. ids[math.random(1, #ids)])
  end
elseif mode == "template" then
  request = function()
    return wrk.format("GET", (template:gsub("{n}", tostring(math.random(min_id, max_id)))))
  end
elseif mode == "range" then
  local slots = math.max(1, math.floor(file_size / range_size))
  request = function()
    local first = (math.random(1, slots) - 1) * range_size
    -- Headers given to wrk.format replace wrk.headers: copy them (the key) and add the range.
    local headers = {}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    headers["Range"] = "bytes=" .. first .. "-" .. (first + range_size - 1)
    return wrk.format("GET", nil, headers)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d bytes=%d rps=%.2f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.bytes, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
