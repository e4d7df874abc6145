-- wrk script for bench/service.sh: the mixed workload of docs/service.md against
-- one nova-service process.
--   wrk -s bench/service/mixed.lua URL -- MODE USERS_FILE CID_PREFIX SEEDED_POSTS
-- MODE nova: "Authorization: Bearer <token>" (pre-signed, one per user);
-- MODE plain: "X-User: <username>". USERS_FILE lines: "<username> <token>", in user id order.
-- Mix: 35% GET /feed, 35% GET /posts/{id}, 14% POST /posts, 10% POST comments,
-- 1% POST /posts with a bad credential (must write nothing), 5% DELETE a seeded
-- post by its author / restore a post this thread deleted. 3% of the requests
-- come from one hot user (user 1000), who runs into the rate limit in nova mode.
-- Every request carries a unique X-Correlation-ID: CID_PREFIX-<thread>-<n>.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  mode, prefix, npost = args[1], args[3], tonumber(args[4])
  users, tokens = {}, {}
  for line in io.lines(args[2]) do
    local u, t = line:match("^(%S+) (%S+)$")
    users[#users + 1], tokens[#tokens + 1] = u, t
  end
  n, deleted = 0, {}
  math.randomseed(os.time() * 1000 + id)
end

local function as(i, h)
  if mode == "nova" then h["Authorization"] = "Bearer " .. tokens[i] else h["X-User"] = users[i] end
  return h
end

function request()
  n = n + 1
  local cid = string.format("%s-%d-%d", prefix, id, n)
  local h = { ["X-Correlation-ID"] = cid }
  local op = math.random(100)
  local u = (math.random(100) <= 3) and #users or math.random(#users)
  if op <= 35 then
    return wrk.format("GET", "/feed?limit=20", as(u, h))
  elseif op <= 70 then
    return wrk.format("GET", "/posts/" .. math.random(npost), as(u, h))
  elseif op <= 84 then
    h["Content-Type"] = "application/json"
    return wrk.format("POST", "/posts", as(u, h), '{"body": "bench post ' .. cid .. '"}')
  elseif op <= 94 then
    h["Content-Type"] = "application/json"
    return wrk.format("POST", "/posts/" .. math.random(npost) .. "/comments", as(u, h), '{"body": "bench comment"}')
  elseif op == 95 then
    h["Content-Type"] = "application/json"
    if mode == "nova" then h["Authorization"] = "Bearer not.a.token" end
    return wrk.format("POST", "/posts", h, '{"body": "must never be written"}')
  else
    if #deleted > 0 and math.random(2) == 1 then
      local p = table.remove(deleted)
      return wrk.format("POST", "/posts/" .. p .. "/restore", as(((p - 1) % #users) + 1, h))
    end
    local p = math.random(npost)
    deleted[#deleted + 1] = p
    return wrk.format("DELETE", "/posts/" .. p, as(((p - 1) % #users) + 1, h))
  end
end

function done(summary, latency, requests)
  io.write(string.format('{"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
