-- bench/soak's mixed traffic: every request kind a deployment sees most, in fixed proportions, each answer
-- checked. Configured by bench/soak through the environment:
--   SOAK_API_TOKEN      an API token with every scope
--   SOAK_ACCESS_TOKEN   an OAuth access token (client_credentials)
--   SOAK_CLIENT_BASIC   base64(client_id:client_secret) of a confidential client
-- done() prints: SOAK requests=N rps=N p50_us=N p99_us=N non2xx=N socket_errors=N
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local function add(list, weight, request)
  for _ = 1, weight do table.insert(list, request) end
end

function init(args)
  local token = "Token " .. os.getenv("SOAK_API_TOKEN")
  local access = os.getenv("SOAK_ACCESS_TOKEN")
  local basic = "Basic " .. os.getenv("SOAK_CLIENT_BASIC")
  local form = "application/x-www-form-urlencoded"
  non2xx = 0
  prepared = {}
  -- The hot path of a resource server: who is this token, and may it do this?
  add(prepared, 6, wrk.format("GET", "/api/v2/users/me/current-authorization", { Authorization = token }))
  add(prepared, 2, wrk.format("GET", "/api/v2/users/me", { Authorization = token }))
  add(prepared, 3, wrk.format("GET", "/forward-auth",
    { Authorization = token, ["X-Original-Method"] = "GET", ["X-Original-URI"] = "/api/v2/scenarios?teamId=1" }))
  add(prepared, 2, wrk.format("GET", "/api/v2/users/me/api-tokens", { Authorization = token }))
  -- OAuth: introspection by a resource server, a machine client's grant, the keys and metadata.
  add(prepared, 3, wrk.format("POST", "/oauth/v2/introspect",
    { Authorization = basic, ["Content-Type"] = form }, "token=" .. access))
  add(prepared, 1, wrk.format("POST", "/oauth/v2/token",
    { Authorization = basic, ["Content-Type"] = form }, "grant_type=client_credentials"))
  add(prepared, 1, wrk.format("GET", "/oauth/v2/oidc/jwks"))
  add(prepared, 1, wrk.format("GET", "/.well-known/openid-configuration"))
  index = ((id or 1) - 1) * 5 % #prepared
end

function request()
  index = index % #prepared + 1
  return prepared[index]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if non2xx <= 3 then io.stderr:write("soak: status " .. status .. ": " .. string.sub(body, 1, 200) .. "\n") end
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
  end
  local errors = summary.errors
  io.write(string.format("SOAK requests=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50),
    latency:percentile(99), bad, errors.connect + errors.read + errors.write + errors.timeout))
end
