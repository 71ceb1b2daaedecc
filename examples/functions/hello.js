// The example edge function `npm start` deploys (docs/functions.md): one ES module, no imports.
// It answers JSON with the path it was called with and the time it ran.
export default {
  fetch(request) {
    const { pathname } = new URL(request.url);
    return Response.json({ hello: "world", path: pathname, time: new Date().toISOString() });
  },
};
