// The example edge function `npm start` deploys (docs/functions.md): one ES module, no imports.
// It answers JSON with the path it was called with and the time it ran. The isolate has no URL
// class (only the language and a small web layer), so the path is cut from request.url by hand.
export default {
  fetch(request) {
    const path = request.url.replace(/^[a-z]+:\/\/[^/]*/, "").split("?")[0];
    return Response.json({ hello: "world", path, time: new Date().toISOString() });
  },
};
