-- The Lua half of the bench. hu-bench runs this file in its own Lua state
-- and times each runner: run(n) verifies one token n times and returns how
-- many verifications gave an unexpected result.
local options = ...;

package.path = options.prosody_dir .. "/?.lua;" .. package.path;
package.cpath = options.module_dir .. "/?.so;" .. options.prosody_dir .. "/?.so;" .. package.cpath;

local hu_token = require "huddleup.token";

local verifier = hu_token.new({
	secret = options.secret;
	issuers = { options.issuer };
	audiences = { options.audience };
});

-- Prosody 0.12's util.jwt: verify(key, token) returns true and the decoded
-- payload, checks only HS256 signatures and no claim.
local has_prosody_jwt, prosody_jwt = pcall(require, "util.jwt");

local runners = {};

function runners.binding(token)
	local now = options.now;
	return function (n)
		local errors = 0;
		for _ = 1, n do
			local claims = verifier:verify(token, now);
			if type(claims) ~= "table" then
				errors = errors + 1;
			end
		end
		return errors;
	end;
end

-- Writes value as the text of a Lua constructor expression.
local function constructor(value)
	if type(value) == "table" then
		local fields = {};
		for k, v in pairs(value) do
			local key = type(k) == "string" and ("[%q]"):format(k) or ("[%d]"):format(k);
			fields[#fields + 1] = key .. "=" .. constructor(v);
		end
		return "{" .. table.concat(fields, ",") .. "}";
	elseif type(value) == "string" then
		return ("%q"):format(value);
	elseif math.type(value) == "integer" then
		return ("%d"):format(value);
	elseif type(value) == "number" then
		return ("%.17g"):format(value);
	elseif value == hu_token.null then
		return "null";
	end
	return tostring(value);
end

-- The claims table alone: a Lua constructor that builds a table of the same
-- shape from constants, so no string is created. This bounds from below
-- what any verifier that returns the claims as a table costs in Lua.
function runners.table_only(token)
	local claims = assert(verifier:verify(token, options.now));
	local make = assert(load("local null = ...; return function () return "
		.. constructor(claims) .. "; end", "=claims", "t"))(hu_token.null);
	return function (n)
		local errors = 0;
		for _ = 1, n do
			if type(make()) ~= "table" then
				errors = errors + 1;
			end
		end
		return errors;
	end;
end

function runners.prosody(token)
	local key = options.secret;
	local verify = prosody_jwt.verify;
	return function (n)
		local errors = 0;
		for _ = 1, n do
			local ok, payload = verify(key, token);
			if ok ~= true or type(payload) ~= "table" then
				errors = errors + 1;
			end
		end
		return errors;
	end;
end

return runners, has_prosody_jwt or tostring(prosody_jwt);
