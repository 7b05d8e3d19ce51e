-- LuaRocks: `luarocks make rockspecs/fcrun-scm-1.rockspec` from a checkout
-- builds with CMake and installs the fc module (fc/core.so and fc/*.lua)
-- for stock Lua 5.4, and the fcrun binary. Needs the Debian packages of
-- third_party/deps.txt's build section (cmake, liblua5.4-dev,
-- libcurl4-openssl-dev, libmbedtls-dev, lua-cjson-dev, libmicrohttpd-dev).
rockspec_format = "3.0"
package = "fcrun"
version = "scm-1"
source = {
  url = "git+file:///dev/null", -- a checkout: luarocks make builds the working tree
}
description = {
  summary = "Alibaba Cloud Function Compute 3.0 from Lua 5.4, and a local emulator",
  detailed = [[
The fc module signs (ACS3-HMAC-SHA256) and sends Function Compute 3.0 calls over
libcurl: sync and async invocations, tail logs, async tasks, fan-out and chains,
credentials from the official chain (environment, OIDC, aliyun CLI profiles, ECS RAM
role, credentials URI) refreshed before they expire. fcrun runs scripts and emulates
FC locally.]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
-- The C libraries are found by CMake (pkg-config), which names what is
-- missing; LuaRocks' own header search misses Debian's multiarch paths.
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    FC_TESTS = "OFF",
    -- LuaRocks deploys $(LIBDIR) to the tree's lib/lua/5.4 and $(LUADIR) to
    -- its share/lua/5.4: fc/core.so and fc/*.lua land where require finds them.
    FC_LUA_LIBDIR = "$(LIBDIR)",
    FC_LUA_DATADIR = "$(LUADIR)",
  },
}
