-- wrk: POST /publish with a fixed body and, when TOKEN is set, a bearer token.
wrk.method = "POST"
wrk.body = '{"topic": "cats", "message": "hello"}'
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("TOKEN")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
