// Leo's processAsync as a counting sink for bench/e2e.py (plain node:http, no packages).
//
// POST (any path): checks `Authorization` when SINK_AUTH is set (401 otherwise), reads the
// JSON body, counts the request and its documentNumber, and answers Leo's success envelope
// as adapters/leo/simulator.py does: {exception: null, data: {documentNumber, accepted:
// true}, hasData: true, hasException: false}.
// GET /count: {"requests": n, "unique": distinct documentNumbers, "refused": n}.
// DELETE /count: forget everything.
//
//     SINK_PORT=9200 SINK_AUTH='Bearer x' node bench/sink.js
"use strict";
const http = require("node:http");

const port = Number(process.env.SINK_PORT || 9200);
const auth = process.env.SINK_AUTH || "";
let requests = 0;
let refused = 0;
let seen = new Set();

function reply(res, status, body) {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": data.length });
  res.end(data);
}

const server = http.createServer((req, res) => {
  if (req.url === "/count") {
    if (req.method === "DELETE") {
      requests = 0;
      refused = 0;
      seen = new Set();
    }
    return reply(res, 200, { requests, unique: seen.size, refused });
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (req.method !== "POST" || (auth && req.headers.authorization !== auth)) {
      refused += 1;
      const exception = { code: "Unauthorized", message: "missing or invalid bearer token" };
      return reply(res, 401, { exception, data: null, hasData: false, hasException: true });
    }
    let doc;
    try {
      doc = JSON.parse(Buffer.concat(chunks).toString("utf8")).documentNumber;
    } catch (err) {
      refused += 1;
      const exception = { code: "BadRequest", message: String(err) };
      return reply(res, 400, { exception, data: null, hasData: false, hasException: true });
    }
    requests += 1;
    seen.add(doc);
    const data = { documentNumber: doc, accepted: true };
    reply(res, 200, { exception: null, data, hasData: true, hasException: false });
  });
});
server.keepAliveTimeout = 65000;
server.listen(port, "127.0.0.1");
