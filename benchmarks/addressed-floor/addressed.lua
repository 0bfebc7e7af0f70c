wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local u = math.random(0, 999)
  return wrk.format(nil, "/publish", nil, '{"topic":"bench-0","user_id":' .. u .. ',"message":"hello world 0123456789 0123456789 0123456789"}')
end
