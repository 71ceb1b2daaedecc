/**
 * The `env` an agent's handlers receive (`fetch(request, env)`, `alarm(env)`), evaluated once in
 * its context by the sandbox prelude (functions/sandboxPrelude.ts) before the lockdown. Every
 * method calls the host through one reference, `__fleekAgentHost(op, args)`, captured here and
 * deleted from the global object; only copies cross, and the host answers `{value}` or `{error}`
 * (thrown here as an Error with the host's message), never a host object. `env.config` is a copy
 * of the agent's character/config JSON.
 */
export const AGENT_ENV = String.raw`(() => {
  const host = globalThis.__fleekAgentHost;
  const hostSync = globalThis.__fleekAgentHostSync;
  const config = globalThis.__fleekAgentConfig;
  delete globalThis.__fleekAgentHost;
  delete globalThis.__fleekAgentHostSync;
  delete globalThis.__fleekAgentConfig;
  const valueOf = (answer) => {
    if (answer.error !== undefined) throw new Error(answer.error);
    return answer.value;
  };
  const call = async (op, args) => valueOf(await host.apply(undefined, [op, args], { arguments: { copy: true }, result: { promise: true, copy: true } }));
  const callSync = (op, args) => hostSync.applySync(undefined, [op, args], { arguments: { copy: true }, result: { copy: true } });
  const json = (value) => {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError("kv.put needs a JSON-serialisable value");
    return text;
  };
  const deepFreeze = (o) => { if (o && typeof o === "object") { Object.freeze(o); for (const v of Object.values(o)) deepFreeze(v); } return o; };
  return Object.freeze({
    config: deepFreeze(config),
    kv: Object.freeze({
      get: async (key) => {
        const cached = callSync("kv.get", [key]);
        const text = cached.miss ? await call("kv.get", [key]) : valueOf(cached);
        return text === null ? null : JSON.parse(text);
      },
      put: async (key, value) => {
        const queued = callSync("kv.put", [key, json(value)]);
        if (queued.measure) await call("kv.measured", []);
        else valueOf(queued);
      },
      delete: (key) => call("kv.delete", [key]),
      list: async (options = {}) =>
        (await call("kv.list", [options.prefix ?? "", options.limit ?? 100])).map(([key, text]) => ({ key, value: JSON.parse(text) })),
    }),
    sql: Object.freeze({ query: (sql, params = []) => call("sql.query", [sql, params]) }),
    llm: Object.freeze({ chat: (request) => call("llm.chat", [request]) }),
    setAlarm: (ms) => call("alarm.set", [ms]),
  });
})()`;
