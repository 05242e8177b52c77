// Baseline: the fastest honest answer to GET /api/stripe-pk — node:http returning a constant body.
import { createServer } from 'node:http';

const body = JSON.stringify({ success: true, publishable_key: process.env.BENCH_PK });
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
