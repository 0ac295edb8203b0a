-- wrk script for scripts/bench.sh --serve: every request POSTs one file's bytes.
-- usage: wrk ... -s post_image.lua URL -- FILE CONTENT_TYPE
function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = args[2]
end
