// The example agent `npm start` hosts on node 0 (docs/agents-runtime.md, "Contract"): it counts
// its calls in its own store and answers with its config's greeting.
export default {
  async fetch(request, env) {
    const calls = ((await env.kv.get("calls")) ?? 0) + 1;
    await env.kv.put("calls", calls);
    return Response.json({ agent: env.config.name, greeting: env.config.greeting, calls });
  },
};
