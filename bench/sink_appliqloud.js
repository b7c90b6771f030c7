// AppliQloud's bulk update as a counting sink for bench/bulk.py (plain node:http, no packages).
//
// PUT (any path): checks `Authorization` when SINK_AUTH is set (401 otherwise), reads the
// JSON body `{inputs: [{header, items}]}` and answers the document's 200 envelope as
// adapters/appliqloud/simulator.py does: every input back in `success` with
// `purchaseOrderStatus: "OPEN"` and `netTotalPrice` totals, `errors: []`.
// GET /count: {"requests": n, "inputs": POs received, "unique": distinct purchaseOrderIds,
// "refused": n, "firstMs"/"lastMs": wall-clock ms of the first and last request}. DELETE /count: forget everything.
//
//     SINK_PORT=9200 SINK_AUTH='Basic ...' node bench/sink_appliqloud.js
"use strict";
const http = require("node:http");

const port = Number(process.env.SINK_PORT || 9200);
const auth = process.env.SINK_AUTH || "";
let requests = 0;
let inputs = 0;
let refused = 0;
let seen = new Set();
let firstMs = null;
let lastMs = null;

function reply(res, status, body) {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": data.length });
  res.end(data);
}

function error(res, status, cause, message) {
  refused += 1;
  reply(res, status, { traceId: "0".repeat(32), cause, message });
}

function accepted(po) {
  const items = (po.items || po.details || []).map((item) => ({
    ...item,
    netTotalPrice: item.quantity * item.netUnitPrice,
  }));
  const total = items.reduce((sum, item) => sum + item.netTotalPrice, 0);
  return { header: { ...po.header, purchaseOrderStatus: "OPEN", netTotalPrice: total }, items };
}

const server = http.createServer((req, res) => {
  if (req.url === "/count") {
    if (req.method === "DELETE") {
      requests = 0;
      inputs = 0;
      refused = 0;
      seen = new Set();
      firstMs = null;
      lastMs = null;
    }
    return reply(res, 200, { requests, inputs, unique: seen.size, refused, firstMs, lastMs });
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (req.method !== "PUT" || (auth && req.headers.authorization !== auth)) {
      return error(res, 401, "UnauthorizedException", "Authorization required");
    }
    let pos;
    try {
      pos = JSON.parse(Buffer.concat(chunks).toString("utf8")).inputs;
      if (!Array.isArray(pos) || pos.length === 0) throw new Error("inputs: too_short");
    } catch (err) {
      return error(res, 400, "ValidationException", String(err));
    }
    requests += 1;
    inputs += pos.length;
    lastMs = Date.now();
    if (firstMs === null) firstMs = lastMs;
    for (const po of pos) seen.add(po.header.purchaseOrderId);
    reply(res, 200, { success: pos.map(accepted), errors: [] });
  });
});
server.keepAliveTimeout = 65000;
server.listen(port, "127.0.0.1");
