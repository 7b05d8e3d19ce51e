# nginx.sh: sourced by the benchmarks. They set NGINX (the binary), TMP (a
# private directory) and LIMIT (seconds nginx may live), then call
#   nginx_up WORKERS SERVERS
# where SERVERS is a function that prints the http block's own lines (server
# blocks included) for a port given as $1. nginx runs from a private prefix
# under $TMP/nginx on a random high even port (PORT + 1 stays free for a
# second listener); sets NGINX_PID and NGINX_PORT, or exits naming why.

nginx_try() { # PORT WORKERS SERVERS
  mkdir -p "$TMP/nginx"
  {
    cat <<EOF
worker_processes $2;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 1000000;  # no forced reconnects, as fcrun serve
EOF
    "$3" "$1"
    echo "}"
  } >"$TMP/nginx/nginx.conf"
  rm -f "$TMP/nginx/nginx.pid"
  timeout "$LIMIT" "$NGINX" -e "$TMP/nginx/error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" \
    -g 'daemon off;' 2>>"$TMP/nginx/stderr" &
  NGINX_PID=$!
  local j=0
  while [ $j -lt 30 ]; do # up to 3 s
    [ -s "$TMP/nginx/nginx.pid" ] && return 0
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.1; j=$((j + 1))
  done
  kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=''
  return 1
}

nginx_up() { # WORKERS SERVERS
  NGINX_PORT=''
  local p
  for _ in 1 2 3 4 5; do # a taken port: try another
    p=$(awk 'BEGIN { srand(); print 20000 + 2 * int(rand() * 20000) }')
    if nginx_try "$p" "$1" "$2"; then NGINX_PORT=$p; return 0; fi
    sleep 1 # srand() seeds from the clock in seconds
  done
  echo "$0: nginx did not start:" >&2; cat "$TMP/nginx/error.log" "$TMP/nginx/stderr" >&2 2>/dev/null
  exit 1
}
