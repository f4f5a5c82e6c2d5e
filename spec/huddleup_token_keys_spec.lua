-- Specs for the key functions of huddleup.token (csrc/lua_token.c): keys
-- added at run time by kid, JWK Sets, rotation, peek_kid and asap_key_name.
-- Run with: busted --lua=lua5.4 (LUA_CPATH_5_4 must reach build/lua/?.so).
local hu_token = require "huddleup.token";

-- The fixtures below were made once with Python's cryptography package and
-- the private keys were discarded. Every token carries the same claim set
-- (iss "keys-app", room "lobby", exp one hour after NOW).
local NOW = 1767225600;
local SECRET = "test-only-shared-secret-0123456789abcdef";

local PAYLOAD = "eyJpc3MiOiJrZXlzLWFwcCIsImF1ZCI6ImppdHNpIiwic3ViIjoibWVldC5leGFtcGxlLmNvbSIsInJvb20iOiJsb2Jie"
	.."SIsImlhdCI6MTc2NzIyNTYwMCwibmJmIjoxNzY3MjI1NTkwLCJleHAiOjE3NjcyMjkyMDAsImNvbnRleHQiOnsidXNlciI6eyJuYW1lIj"
	.."oiQWxpY2UifX19";

local function token(header, signature)
	return header.."."..PAYLOAD.."."..signature;
end

-- {"alg":"ES256","kid":"2025-01"}, {"alg":"ES256","kid":"2025-02"},
-- {"alg":"RS256","kid":"rsa-2025"}, {"alg":"HS256"},
-- {"alg":"HS256","kid":"2025-01"} and {"alg":"HS256","kid":"retired"}.
local HEADER_EC1 = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjUtMDEifQ";
local HEADER_EC2 = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjUtMDIifQ";
local HEADER_RSA = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0yMDI1In0";
local HEADER_HS = "eyJhbGciOiJIUzI1NiJ9";
local HEADER_HS_KID_EC1 = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjIwMjUtMDEifQ";
local HEADER_HS_RETIRED = "eyJhbGciOiJIUzI1NiIsImtpZCI6InJldGlyZWQifQ";

local TOKEN_EC1 = token(HEADER_EC1,
	"aG94wLr7RmM0OTnRTv-9A_RaAPygu9tA5WXxSUkAV_Hf49O24jj-_qilBhCnMJkVYHvyaKTX_WVc31K15RslDA");
-- The same signature in OpenSSL's DER form, which JWS does not allow.
local TOKEN_EC1_DER = token(HEADER_EC1,
	"MEUCICK-u-VnAmtD_T-LsMDlzCYXkcSgyB83lsPPw4htXuCEAiEAsiVpMZLZ31us2puwWL3_RPo8TH5vT280SruMiDc88gM");
local TOKEN_EC2 = token(HEADER_EC2,
	"KdEarkqp3SwUMHv4G3VKTUVRqmbkygDzXGsDvm3OzEL2ya4fQgwFNF60VWDIWsb2OjYHW6rPXkS0u9ooWMW4bg");
local TOKEN_RSA = token(HEADER_RSA,
	"sxRiwq76IBYJPtHC8hXh0GXYN57idS-CamLYKZWQw5FlcSTUVxzy0E7K5R1W0nGqS94VJifv3M5rabGukAtJ78B3P2Du7-yhNHE7"
	.."DuRfloiyqEergwTTcd2DK5O3Dbs0xzT2NBQQp92roSW7BAiNcGGnaCfwLrNmpG7K5m8rRBsm73Rre6WBG83kbZUoU4nuZAWZ10HZ"
	.."HJHeiySk_6WYR0BTTh5JCkFlbcQObzkzWPllvj52JCQNEAKioU5tow8D3YajIhRlt6TVxUqApXX5xXMD_xyRipzBsI-XyCVIGz1P"
	.."P4DhxUU-sv_oACGgJ84uvdv4Q85hAIIimXvz5zv_HA");
local TOKEN_HS = token(HEADER_HS, "V1C82gH3DwU4ITgf_rVy19lJGAQy7jvyCqmnJnJVO1o");
local TOKEN_HS_KID_EC1 = token(HEADER_HS_KID_EC1, "JrWiYirNG4qIeMROit08IdCH_ltbvNM_zeCq4fGe5X0");
local TOKEN_HS_RETIRED = token(HEADER_HS_RETIRED, "TKhezyy_Mmicow5mIzBf63zIlqlKGoPB88ND87eBwrc");

local EC1_PEM = [[
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbOtUf25cd6Or8PIdk1/P4FNgmEfw
/EYoRQsgcoT3wFAK6holF3yuRK7KJEGR8FsaS86KhnRMVx/x2rAbEVIl0g==
-----END PUBLIC KEY-----
]];

local RSA_PEM = [[
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAz7paLL4cz0LjgGesmol4
jNdpO3aC0bV9IZ7o8SLpLmJ+oWUbx6GpOEDaFqHIVREZc4QrCRpwc+AJaGCchFjy
E11YX/ynCLhm5MnpvHitOJ/q59yPaBbkK00p5HXgKuB7RtDS5M80ilq2NFoaKhWc
QrKVeg0NDfOJi0n1M5ahQtT/vhwkZSa4xlFfs/Q3fU1WYYIplcdP+ah14ShcPClh
rBnmbLBKCD6h1Srr/q66LlhiOHidEEUl04+HbAnqOdE9LiRqnxTs4YkzhFeWnkLv
p4gZGtARQc1vILOV7ff6UEACKPVkELSnYCdzof0IAWUgJ/JtEq6U8D5fnWvyVfNm
sQIDAQAB
-----END PUBLIC KEY-----
]];

-- The public JWKs of the two EC keys (the first is EC1_PEM).
local EC1_JWK = [[{"kty":"EC","crv":"P-256","kid":"2025-01","use":"sig",]]
	..[["x":"bOtUf25cd6Or8PIdk1_P4FNgmEfw_EYoRQsgcoT3wFA","y":"CuoaJRd8rkSuyiRBkfBbGkvOioZ0TFcf8dqwGxFSJdI"}]];
local EC2_JWK = [[{"kty":"EC","crv":"P-256","kid":"2025-02","use":"sig",]]
	..[["x":"i19KiiHFdvMwldP7MkOK4_A-Yky5VehPUKvIaArSEFA","y":"auULp7t2WqXWZjX04mUSD-Ay7cfrCQ6cUIXOPm3HUKM"}]];

local function jwks(...)
	return '{"keys":['..table.concat({ ... }, ",")..']}';
end

local function new_verifier(extra)
	local config = { secret = SECRET, issuers = { "keys-app" } };
	for name, value in pairs(extra or {}) do
		config[name] = value;
	end
	return hu_token.new(config);
end

-- Verifies at NOW and returns the reason of a rejection, or "accepted".
local function outcome(verifier, jwt)
	local claims, reason = verifier:verify(jwt, NOW);
	if claims then
		return "accepted";
	end
	return reason;
end

describe("huddleup.token keys", function ()
	describe("add_key", function ()
		it("adds a public key under a kid", function ()
			local verifier = new_verifier();
			assert.equal("unsupported-algorithm", outcome(verifier, TOKEN_RSA));
			verifier:add_key("rsa-2025", { algorithm = "RS256", public_key = RSA_PEM });
			assert.is_true(verifier:has_key("rsa-2025"));
			assert.equal("accepted", outcome(verifier, TOKEN_RSA));
			assert.equal("accepted", outcome(verifier, TOKEN_HS));
		end);

		it("raises on a weak secret and names the key", function ()
			local verifier = new_verifier();
			assert.has_error(function ()
				verifier:add_key("short", { algorithm = "HS256", secret = "too-short" });
			end, 'configuration-error: key "short": HMAC secret is 9 bytes; at least 32 are required');
			assert.is_false(verifier:has_key("short"));
		end);

		it("raises on a key that does not fit its algorithm", function ()
			local verifier = new_verifier();
			local ok, err = pcall(verifier.add_key, verifier, "ec", { algorithm = "RS256", public_key = EC1_PEM });
			assert.is_false(ok);
			assert.matches('^configuration%-error: key "ec": RS256 needs an RSA public key', err);
		end);

		it("raises on a kid that is already configured", function ()
			local verifier = new_verifier();
			verifier:add_key("2025-01", { algorithm = "ES256", public_key = EC1_PEM });
			local ok, err = pcall(verifier.add_key, verifier, "2025-01",
				{ algorithm = "ES256", public_key = EC1_PEM });
			assert.is_false(ok);
			assert.matches("already configured", err);
		end);

		it("raises on a kid that is not a non-empty string", function ()
			local verifier = new_verifier();
			local key = { algorithm = "HS256", secret = SECRET };
			assert.has_error(function () verifier:add_key(nil, key); end);
			assert.has_error(function () verifier:add_key("", key); end);
			assert.has_error(function () verifier:add_key("a\0b", key); end);
			assert.has_error(function () verifier:add_key(("k"):rep(257), key); end);
		end);
	end);

	describe("add_jwks", function ()
		it("adds every key and returns the count", function ()
			local verifier = new_verifier();
			assert.equal(2, verifier:add_jwks(jwks(EC1_JWK, EC2_JWK)));
			assert.equal("accepted", outcome(verifier, TOKEN_EC1));
			assert.equal("accepted", outcome(verifier, TOKEN_EC2));
		end);

		it("adds nothing when the same set is loaded again", function ()
			local verifier = new_verifier();
			assert.equal(2, verifier:add_jwks(jwks(EC1_JWK, EC2_JWK)));
			assert.equal(0, verifier:add_jwks(jwks(EC1_JWK, EC2_JWK)));
		end);

		it("raises on a private key member", function ()
			local verifier = new_verifier();
			local private_jwk = EC2_JWK:gsub("}$", ',"d":"AAAA"}');
			local ok, err = pcall(verifier.add_jwks, verifier, jwks(private_jwk));
			assert.is_false(ok);
			assert.equal('configuration-error: JWKS key 1 (kid "2025-02"): JWK contains the private member "d"; '
				..'a key set must hold only public keys', err);
			assert.is_false(verifier:has_key("2025-02"));
		end);

		it("adds no key of a set with one bad key", function ()
			local verifier = new_verifier();
			local encryption_jwk = EC2_JWK:gsub('"use":"sig"', '"use":"enc"');
			local ok, err = pcall(verifier.add_jwks, verifier, jwks(EC1_JWK, encryption_jwk));
			assert.is_false(ok);
			assert.matches('^configuration%-error: JWKS key 2 %(kid "2025%-02"%)', err);
			assert.is_false(verifier:has_key("2025-01"));
			assert.is_false(verifier:has_key("2025-02"));
		end);

		it("raises on text that is not a JWK Set", function ()
			local verifier = new_verifier();
			assert.has_error(function () verifier:add_jwks("not json"); end);
			assert.has_error(function () verifier:add_jwks(EC1_JWK); end);
			assert.has_error(function () verifier:add_jwks(nil); end);
		end);

		it("configures a verifier from new{ jwks = text }", function ()
			local verifier = hu_token.new({ jwks = jwks(EC1_JWK), issuers = { "keys-app" } });
			assert.equal("accepted", outcome(verifier, TOKEN_EC1));
			assert.equal("unknown-key", outcome(verifier, TOKEN_EC2));
		end);

		it("raises from new on an empty set alone", function ()
			assert.has_error(function ()
				hu_token.new({ jwks = jwks(), issuers = { "keys-app" } });
			end, "configuration-error: no key: set 'secret', 'public_key', 'keys' or 'jwks'");
		end);
	end);

	describe("rotation", function ()
		it("accepts the old key until it is removed", function ()
			local verifier = new_verifier({
				keys = { ["2025-01"] = { algorithm = "ES256", public_key = EC1_PEM } },
			});
			assert.equal("accepted", outcome(verifier, TOKEN_EC1));
			assert.equal("unknown-key", outcome(verifier, TOKEN_EC2));

			assert.equal(1, verifier:add_jwks(jwks(EC2_JWK)));
			assert.equal("accepted", outcome(verifier, TOKEN_EC2));
			assert.equal("accepted", outcome(verifier, TOKEN_EC1));

			assert.is_true(verifier:remove_key("2025-01"));
			assert.is_false(verifier:has_key("2025-01"));
			assert.equal("unknown-key", outcome(verifier, TOKEN_EC1));
			assert.equal("accepted", outcome(verifier, TOKEN_EC2));
			assert.is_false(verifier:remove_key("2025-01"));
		end);

		it("keeps the default key for tokens without kid", function ()
			local verifier = new_verifier({ jwks = jwks(EC1_JWK) });
			assert.equal("accepted", outcome(verifier, TOKEN_HS));
			assert.equal("unknown-key", outcome(verifier, TOKEN_HS_RETIRED));
			assert.equal("unsupported-algorithm", outcome(verifier, TOKEN_HS_KID_EC1));
		end);

		it("rejects a DER ECDSA signature", function ()
			local verifier = new_verifier({ jwks = jwks(EC1_JWK) });
			assert.equal("signature-mismatch", outcome(verifier, TOKEN_EC1_DER));
		end);
	end);

	describe("peek_kid", function ()
		it("returns the kid of the header", function ()
			assert.equal("2025-01", hu_token.peek_kid(TOKEN_EC1));
			assert.equal("rsa-2025", hu_token.peek_kid(TOKEN_RSA));
		end);

		it("returns a lone nil for a header without kid", function ()
			local kid, reason = hu_token.peek_kid(TOKEN_HS);
			assert.is_nil(kid);
			assert.is_nil(reason);
		end);

		it("verifies nothing", function ()
			assert.equal("2025-01", hu_token.peek_kid(HEADER_EC1..".e30.AAAA"));
		end);

		it("returns nil and a reason for a malformed token", function ()
			local cases = {
				{ "", "invalid-encoding" },
				{ "a.b", "invalid-encoding" },
				{ "e30=.e30.AAAA", "invalid-encoding" },
				{ "W10.e30.AAAA", "unsupported-header" }, -- header []
				{ "eyJraWQiOjd9.e30.AAAA", "unsupported-header" }, -- {"kid":7}
				{ ("A"):rep(65537), "token-too-large" },
			};
			for _, case in ipairs(cases) do
				local kid, reason = hu_token.peek_kid(case[1]);
				assert.is_nil(kid);
				assert.equal(case[2], reason);
			end
		end);

		it("raises on a non-string token", function ()
			assert.has_error(function () hu_token.peek_kid(nil); end);
		end);
	end);

	describe("asap_key_name", function ()
		it("returns the hex SHA-256 of the kid and .pem", function ()
			-- printf %s huddleup/2025-01 | sha256sum
			assert.equal("e8531083bfcc8ba031ae309db850f39814e651491ee6569c675ec59ef1de16c4.pem",
				hu_token.asap_key_name("huddleup/2025-01"));
		end);

		it("keeps path characters of the kid out of the name", function ()
			assert.matches("^%x+%.pem$", hu_token.asap_key_name("../../etc/passwd"));
		end);

		it("raises on an empty kid", function ()
			assert.has_error(function () hu_token.asap_key_name(""); end);
			assert.has_error(function () hu_token.asap_key_name(nil); end);
		end);
	end);
end);
