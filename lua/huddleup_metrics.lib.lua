-- huddleup_metrics: counters of this project's Prosody modules in
-- Prosody's statistics, which mod_http_openmetrics serves on /metrics.
--
-- module:metric (core/moduleapi.lua in 0.12.3 and 13.0.1) creates the
-- OpenMetrics family prosody_mod_<module name>/<name>, with a host label
-- before the given labels when the module is loaded on a host. It is
-- rendered as prosody_mod_<module name>__<name>_total{host="...",...}. A
-- label set appears on /metrics at its first increment. Without a
-- statistics provider, Prosody returns objects that ignore every update.
--
-- Prosody loads this file through module:require "huddleup_metrics".

local huddleup_metrics = {};

-- Returns a stand-in for a counter family built on module:measure, for a
-- Prosody without module:metric: one counter named
-- <name>_<label values joined by _> per label set.
-- NOTE: Prosody 0.12 and 13 both have module:metric, so only the specs
-- run this path.
local function measured_counter(module, name, description)
	local counters = {};
	local family = {};

	function family:with_labels(...) -- luacheck: ignore 212/self
		local measure_name = table.concat({ name, ... }, "_");
		local counter = counters[measure_name];
		if counter == nil then
			local increment = module:measure(measure_name, "counter", { description = description });
			counter = {
				add = function (_, amount)
					increment(amount);
				end;
			};
			counters[measure_name] = counter;
		end
		return counter;
	end

	return family;
end

-- Creates the counter family `name` of `module`, labelled by the names in
-- label_keys (after host). Returns the family: family:with_labels(value, ...)
-- returns the counter of those label values, and counter:add(amount) adds
-- to it.
function huddleup_metrics.counter(module, name, description, label_keys)
	if module.metric then
		return module:metric("counter", name, "", description, label_keys or {});
	end
	return measured_counter(module, name, description);
end

return huddleup_metrics;
