-- fc.sign through the Lua API, against the vectors of FC-PROTOCOL.md §2.
local check = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local fc = require "fc"

local EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

check.run{
  {"TV-1 official example", function()
    local s = fc.sign{method = "POST", host = "ecs.cn-shanghai.aliyuncs.com", path = "/",
      query = {ImageId = "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", RegionId = "cn-shanghai"},
      headers = {["x-acs-action"] = "RunInstances", ["x-acs-version"] = "2014-05-26"},
      date = "2023-10-26T10:22:32Z", nonce = "3156853299f313e23d1673dc12e1703d",
      access_key_id = "YourAccessKeyId", access_key_secret = "YourAccessKeySecret"}
    check.eq(s.string_to_sign, "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259")
    check.eq(s.authorization, "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;" ..
      "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version," ..
      "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0")
    check.eq(s.headers.authorization, s.authorization, "headers carry the signature")
    check.eq(s.headers["x-acs-content-sha256"], EMPTY)
  end},
  {"TV-5 InvokeFunction, unsigned x-fc-* headers", function()
    local s = fc.sign{method = "POST", host = "1234567890123456.cn-hangzhou.fc.aliyuncs.com",
      path = "/2023-03-30/functions/my-func/invocations", query = {qualifier = "LATEST"},
      headers = {["x-acs-action"] = "InvokeFunction", ["content-type"] = "application/octet-stream",
                 ["x-fc-invocation-type"] = "Sync", ["x-fc-log-type"] = "Tail"},
      body = '{"key":"value"}', date = "2023-10-26T10:22:32Z", nonce = "3156853299f313e23d1673dc12e1703d",
      access_key_id = "YourAccessKeyId", access_key_secret = "YourAccessKeySecret"}
    check.eq(s.headers["x-acs-content-sha256"], "e43abcf3375244839c012f9633f95862d232a95b00d5bc7348b3098b9fed7f32")
    check.eq(s.authorization:match("Signature=(%x+)"), "e3b207111fe2887875ac8016271c8877a74dab795208fd5aae2022aecbd02609")
    check.eq(s.headers["x-fc-log-type"], "Tail", "unsigned headers are still returned")
  end},
  {"TV-6 STS adds token and key id", function()
    local s = fc.sign{method = "GET", host = "fcv3.cn-hangzhou.aliyuncs.com",
      path = "/2023-03-30/functions/my-func/async-tasks/task_1", query = {qualifier = "prod"},
      headers = {["x-acs-action"] = "GetAsyncTask"}, date = "2024-01-01T00:00:00Z", nonce = "nonce-0001",
      access_key_id = "STS.akid.example", access_key_secret = "sts-secret-example",
      security_token = "STS.token.example"}
    check.eq(s.headers["x-acs-accesskey-id"], "STS.akid.example")
    check.eq(s.authorization:match("Signature=(%x+)"), "cf8b58ab248e9bd9556f24bb1c7953e5b8911438ecdbdd656b2840f548a366ff")
  end},
  {"query values: numbers and booleans signed as text", function()
    local s = fc.sign{path = "/", query = {limit = 10, includePayload = true, empty = ""},
      access_key_id = "a", access_key_secret = "b", date = "2024-01-01T00:00:00Z", nonce = "n"}
    check.eq(s.canonical_request:match("^[^\n]*\n[^\n]*\n([^\n]*)"), "empty=&includePayload=true&limit=10")
  end},
  {"defaults: fresh nonce and current date", function()
    local a = fc.sign{access_key_id = "a", access_key_secret = "b"}
    local b = fc.sign{access_key_id = "a", access_key_secret = "b"}
    assert(a.headers["x-acs-signature-nonce"] ~= b.headers["x-acs-signature-nonce"], "nonces repeat")
    assert(a.headers["x-acs-date"]:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"), a.headers["x-acs-date"])
  end},
  {"bad input names the problem", function()
    check.raises(function() fc.sign{access_key_id = "a"} end, "access_key_secret")
    check.raises(function() fc.sign{access_key_id = "a", access_key_secret = "b",
      headers = {["x-acs-x"] = "a\r\nb"}} end, "x-acs-x", "CR or LF")
    check.raises(function() fc.sign{access_key_id = "a", access_key_secret = "b", body = 1} end, "body")
  end},
  {"hashes and encodings", function()
    check.eq(fc.hex.encode(fc.sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    check.eq(fc.hex.encode(fc.hmac_sha256("Jefe", "what do ya want for nothing?")),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    check.eq(fc.base64.encode("foobar"), "Zm9vYmFy")
    check.eq(fc.base64.decode("Zm9vYmFy"), "foobar")
    local v, err = fc.base64.decode("!!!!")
    check.eq(v, nil)
    assert(err:find("malformed"), err)
    check.eq(fc.hex.decode("00ff"), "\0\255")
  end},
}
