-- Loads a Prosody plugin file outside Prosody, with a stand-in for its
-- `module` object, so that specs can fire the plugin's hooks directly.
--
-- Prosody's own libraries (util.*) are used as they are, so the specs need
-- Debian's prosody package in /usr/lib/prosody (or PROSODY_LIB_DIR).

local prosody_dir = os.getenv("PROSODY_LIB_DIR") or "/usr/lib/prosody";
if not package.path:find(prosody_dir, 1, true) then
	package.path = prosody_dir.."/?.lua;"..package.path;
	package.cpath = prosody_dir.."/?.so;"..package.cpath;
end

local fake = {};

-- Registers `handler` under `name` in `registry`, keeping the list sorted
-- by descending priority, as util.events does.
local function add_handler(registry, name, handler, priority)
	local handlers = registry[name];
	if handlers == nil then
		handlers = {};
		registry[name] = handlers;
	end
	table.insert(handlers, { handler = handler, priority = priority or 0 });
	table.sort(handlers, function(a, b) return a.priority > b.priority; end);
end

-- Calls the handlers of `name` until one returns a value, as util.events
-- does, and returns that value.
local function fire(registry, name, event)
	for _, entry in ipairs(registry[name] or {}) do
		local result = entry.handler(event);
		if result ~= nil then
			return result;
		end
	end
	return nil;
end

local function new_module_api(host, name, options, world, host_options)
	local api = { host = host, name = name };

	function api:get_option(option_name, default)
		local value = options[option_name];
		if value == nil then
			return default;
		end
		return value;
	end

	function api:get_option_string(option_name, default)
		local value = self:get_option(option_name, default);
		if type(value) == "table" then
			value = value[1];
		end
		return value ~= nil and tostring(value) or nil;
	end

	function api:get_option_number(option_name, default)
		return tonumber(self:get_option(option_name, default));
	end

	function api:get_option_boolean(option_name, default)
		local value = self:get_option(option_name, default);
		if value == nil then
			return nil;
		end
		return value == true or value == "true";
	end

	function api:get_option_array(option_name, default)
		local value = self:get_option(option_name, default);
		if value == nil then
			return nil;
		end
		if type(value) ~= "table" then
			return { value };
		end
		return { table.unpack(value) };
	end

	function api:get_option_path(option_name, default)
		return self:get_option_string(option_name, default);
	end

	function api:hook(event_name, handler, priority)
		add_handler(world.hooks, event_name, handler, priority);
	end

	function api:hook_global(event_name, handler, priority)
		add_handler(world.global_hooks, event_name, handler, priority);
	end

	function api:provides(kind, item)
		item.name = item.name or name:gsub("^"..kind.."_", "");
		world.provided[kind] = item;
	end

	function api:log(level, format, ...)
		table.insert(world.logs, { level = level, message = format:format(...) });
	end

	-- Returns the module object of another host, with the options that
	-- host_options gives for it.
	function api:context(other_host)
		return new_module_api(other_host, name, host_options[other_host] or {}, world, host_options);
	end

	-- Records the timer in world.timers instead of scheduling it. A spec
	-- runs it with world.run_timers().
	function api:add_timer(delay, callback)
		local timer = { delay = delay, callback = callback, stopped = false };
		function timer.stop()
			timer.stopped = true;
		end
		table.insert(world.timers, timer);
		return timer;
	end

	-- Records a metric family in world.metrics[name], as Prosody's
	-- module:metric does without the host label. Counters only.
	-- with_labels() checks the label count as util.openmetrics does.
	function api:metric(metric_type, metric_name, unit, description, label_keys)
		assert(metric_type == "counter", "the fake module:metric supports counters only");
		local family = { unit = unit, description = description, label_keys = label_keys or {}, values = {} };
		world.metrics[metric_name] = family;
		function family:with_labels(...)
			assert(select("#", ...) == #self.label_keys, "label count does not match the label keys");
			local key = table.concat({ ... }, "/");
			return {
				add = function (_, amount)
					family.values[key] = (family.values[key] or 0) + amount;
				end;
			};
		end
		return family;
	end

	-- Returns the table shared under `path`, as Prosody's module:shared
	-- does. The tables live in the world, so worlds do not share them.
	function api:shared(path)
		local shared = world.shared[path];
		if shared == nil then
			shared = {};
			world.shared[path] = shared;
		end
		return shared;
	end

	-- Loads <lib>.lib.lua from the plugin's folder in the plugin's
	-- environment, as Prosody's module:require does.
	function api:require(lib)
		local chunk = assert(loadfile(world.plugin_dir.."/"..lib..".lib.lua", "t", world.env));
		return chunk();
	end

	return api;
end

-- Loads the plugin at `path` on `host` with the given config options.
-- `preload` maps module names to tables that `require` returns while the
-- plugin loads. `host_options` maps other hosts to their options, for
-- module:context(). `api` adds methods to the module object, such as the
-- Prosody 13 ones (could, get_option_enum). Returns the world: its hooks,
-- global hooks, provided items, logs, timers and the `prosody` global
-- (hosts, bare_sessions, full_sessions), with fire() and fire_global() to
-- run handlers. Raises what the plugin raises.
function fake.load(path, spec)
	spec = spec or {};
	local host = spec.host or "meet.jitsi.test";
	local name = path:match("mod_([^/]+)%.lua$");
	local world = { hooks = {}, global_hooks = {}, provided = {}, logs = {}, timers = {}, metrics = {}, shared = {} };
	world.module = new_module_api(host, name, spec.options or {}, world, spec.host_options or {});
	for method_name, method in pairs(spec.api or {}) do
		world.module[method_name] = method;
	end
	world.sessions = {};
	world.prosody = {
		hosts = { [host] = { sessions = world.sessions, modules = {} } };
		bare_sessions = {};
		full_sessions = {};
	};

	-- Runs every timer that has neither run nor been stopped, as if its
	-- delay had passed, and returns how many ran.
	function world.run_timers()
		local count = 0;
		for _, timer in ipairs(world.timers) do
			if not timer.stopped and not timer.ran then
				timer.ran = true;
				timer.callback();
				count = count + 1;
			end
		end
		return count;
	end

	function world.fire(event_name, event)
		return fire(world.hooks, event_name, event);
	end

	function world.fire_global(event_name, event)
		return fire(world.global_hooks, event_name, event);
	end

	-- Returns the count of counter `name` for the given label values, or
	-- nil when nothing was counted there.
	function world.metric_value(metric_name, ...)
		local family = world.metrics[metric_name];
		return family and family.values[table.concat({ ... }, "/")];
	end

	-- Returns the log lines at `level` joined by newlines.
	function world.log_text(level)
		local lines = {};
		for _, entry in ipairs(world.logs) do
			if level == nil or entry.level == level then
				table.insert(lines, entry.message);
			end
		end
		return table.concat(lines, "\n");
	end

	local env = setmetatable({
		module = world.module;
		prosody = world.prosody;
	}, { __index = _G });
	world.env = env;
	world.plugin_dir = path:match("^(.*)/[^/]*$") or ".";

	local saved = {};
	for module_name, value in pairs(spec.preload or {}) do
		saved[module_name] = package.loaded[module_name];
		package.loaded[module_name] = value;
	end

	local chunk, load_err = loadfile(path, "t", env);
	local ok, err = false, load_err;
	if chunk then
		ok, err = pcall(chunk);
	end

	for module_name in pairs(spec.preload or {}) do
		package.loaded[module_name] = saved[module_name];
	end

	if not ok then
		error(err, 0);
	end
	return world;
end

return fake;
