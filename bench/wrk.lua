-- The one wrk script of bench/run. Configured by environment variables, so every row is the same script:
--   BENCH_METHOD        GET (default) or POST
--   BENCH_PATH          request path (default: the URL's path)
--   BENCH_BODY          request body, sent with BENCH_CONTENT_TYPE
--   BENCH_AUTH          a fixed Authorization header value
--   BENCH_TOKENS        a file of credentials, one a line: requests cycle through them, each wrk thread
--                       starting at its own offset, with Authorization: BENCH_AUTH_SCHEME <credential>
--   BENCH_AUTH_SCHEME   Token (default) or Bearer
--   BENCH_ORIGINAL_METHOD, BENCH_ORIGINAL_URI
--                       sent as X-Original-Method / X-Original-URI: a forward-auth check as nginx asks it
--   BENCH_TOKEN_IN      header (default), or body: each credential replaces %TOKEN% in BENCH_BODY instead
--   BENCH_SINGLE_USE    1: credentials are single-use (refresh tokens). Each of the BENCH_THREADS threads
--                       takes its own slice of the file and walks it once; a thread that runs out sends its
--                       last credential again, which the server must refuse, so the row shows as invalid
--                       instead of quietly measuring replays
-- Every response is checked: anything outside 2xx is counted, since a benchmark of errors measures nothing.
-- done() prints one machine-readable line that bench/run parses:
--   BENCH requests=N duration_us=N rps=N p50_us=N p99_us=N non2xx=N socket_errors=N

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  local method = os.getenv("BENCH_METHOD") or "GET"
  local path = os.getenv("BENCH_PATH") or wrk.path
  local body = os.getenv("BENCH_BODY")
  local headers = {}
  local content_type = os.getenv("BENCH_CONTENT_TYPE")
  if content_type then headers["Content-Type"] = content_type end
  local auth = os.getenv("BENCH_AUTH")
  if auth then headers["Authorization"] = auth end
  local original_method = os.getenv("BENCH_ORIGINAL_METHOD")
  if original_method then headers["X-Original-Method"] = original_method end
  local original_uri = os.getenv("BENCH_ORIGINAL_URI")
  if original_uri then headers["X-Original-URI"] = original_uri end

  non2xx = 0
  prepared = {}
  local tokens_file = os.getenv("BENCH_TOKENS")
  if tokens_file then
    local scheme = os.getenv("BENCH_AUTH_SCHEME") or "Token"
    local in_body = os.getenv("BENCH_TOKEN_IN") == "body"
    for line in io.lines(tokens_file) do
      if #line > 0 then
        if in_body then
          table.insert(prepared, wrk.format(method, path, headers, (body:gsub("%%TOKEN%%", line))))
        else
          headers["Authorization"] = scheme .. " " .. line
          table.insert(prepared, wrk.format(method, path, headers, body))
        end
      end
    end
  else
    table.insert(prepared, wrk.format(method, path, headers, body))
  end
  single_use = os.getenv("BENCH_SINGLE_USE") == "1"
  if single_use then
    local threads_total = tonumber(os.getenv("BENCH_THREADS") or "1")
    local slice = math.floor(#prepared / threads_total)
    first = ((id or 1) - 1) * slice + 1
    last = first + slice - 1
    index = first - 1
  else
    -- Threads start apart, so that with many credentials they do not walk the list in step.
    index = ((id or 1) - 1) * math.floor(#prepared / 4) % #prepared
  end
end

function request()
  if single_use then
    if index < last then index = index + 1 end
    return prepared[index]
  end
  index = index % #prepared + 1
  return prepared[index]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
  end
  local errors = summary.errors
  local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), bad, socket_errors))
end
