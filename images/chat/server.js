'use strict';
// chat: a small chat service on Node's http module. Two ways to keep messages:
//  - in memory (no AMQP_URL): nothing else needed, messages go with the process;
//  - durable (AMQP_URL set): a POST is published, persistent, to a RabbitMQ queue and
//    confirmed by the broker before it is answered (202); a consumer stores each message
//    in MariaDB (idempotently, by its uuid) and only then acknowledges it, so a message
//    survives the loss of this service, of the broker (durable queue) or of the
//    database (it waits in the queue). GET reads MariaDB. Connections are retried
//    every 2 s for as long as it takes (a database host rebooting, say).
//
// Environment:
//   PORT          TCP port (default 3000)
//   HOST          address to bind (default 0.0.0.0)
//   MAX_MESSAGES  in memory: messages kept, oldest dropped first (default 1000)
//   AMQP_URL      amqp://user:password@host:5672/ : durable mode
//   QUEUE         the queue (default chat.messages)
//   DB_HOST, DB_PORT (3306), DB_USER, DB_PASSWORD, DB_NAME (chat): MariaDB, durable mode
//
// Endpoints (JSON in, JSON out):
//   GET  /health     {"status":"ok","service":"chat"}
//   GET  /health/dependencies  durable mode: {"queue": {"status"}, "database": {"status"}};
//                    200 when both are up, else 503
//   GET  /messages   messages, oldest first (?room=R, ?since=ID: only ids > ID,
//                    ?limit=N: the newest N, 1..1000, default 100)
//   POST /messages   {"user": str, "text": str, "room": str (default "general")}
//                    -> in memory: 201 with the stored message {id, room, user, text, created_at};
//                       durable: 202 {"status":"queued", "uuid", ...} once the broker has it,
//                       503 queue_unavailable when it cannot take it
// Errors: 400 (bad JSON or fields), 404, 405, 413 (body over 64 KiB), 503 (durable mode:
// queue or database unavailable).

const http = require('http');

const SERVICE = 'chat';
const MAX_BODY = 64 * 1024;
const MAX_LIMIT = 1000;

function sendJson(res, status, body, headers = {}) {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(data),
    ...headers,
  });
  res.end(data);
}

function sendError(res, status, code, message, headers) {
  sendJson(res, status, { error: code, message }, headers);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function validString(value, max) {
  return typeof value === 'string' && value.trim() !== '' && value.length <= max;
}

// The query of GET /messages: {room, since, limit}, or [400, why].
function listQuery(url) {
  const room = url.searchParams.get('room');
  const since = Number(url.searchParams.get('since') || 0);
  const limit = Number(url.searchParams.get('limit') || '100');
  if (!Number.isInteger(since) || since < 0) return [400, 'since must be a message id'];
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return [400, `limit must be an integer in 1..${MAX_LIMIT}`];
  return { room, since, limit };
}

// A POST body as {room, user, text}, or [400, why].
function messageFields(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [400, 'body must be a JSON object'];
  const room = body.room === undefined ? 'general' : body.room;
  if (!validString(body.user, 100)) return [400, "'user' must be a non-empty string (at most 100 characters)"];
  if (!validString(body.text, 2000)) return [400, "'text' must be a non-empty string (at most 2000 characters)"];
  if (!validString(room, 100)) return [400, "'room' must be a non-empty string (at most 100 characters)"];
  return { room: room.trim(), user: body.user.trim(), text: body.text };
}

// Messages in this process: add -> [201, message]; list -> [200, messages].
function memoryStore(maxMessages = 1000) {
  const messages = [];
  let nextId = 1;
  return {
    async add(fields) {
      const message = { id: nextId++, ...fields, created_at: new Date().toISOString() };
      messages.push(message);
      if (messages.length > maxMessages) messages.splice(0, messages.length - maxMessages);
      return [201, message];
    },
    async list({ room, since, limit }) {
      const found = messages.filter((m) => m.id > since && (!room || m.room === room));
      return [200, found.slice(-limit)];
    },
    async dependencies() {
      return null;
    },
  };
}

function createApp({ maxMessages = 1000, store = memoryStore(maxMessages) } = {}) {
  async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (url.pathname === '/health') {
      if (!get) return sendError(res, 405, 'method_not_allowed', 'use GET', { Allow: 'GET, HEAD' });
      return sendJson(res, 200, { status: 'ok', service: SERVICE });
    }
    if (url.pathname === '/health/dependencies') {
      if (!get) return sendError(res, 405, 'method_not_allowed', 'use GET', { Allow: 'GET, HEAD' });
      const deps = (await store.dependencies()) || {};
      const ok = Object.values(deps).every((d) => d.status === 'ok');
      return sendJson(res, ok ? 200 : 503, { service: SERVICE, dependencies: deps });
    }
    if (url.pathname === '/messages') {
      if (get) {
        const q = listQuery(url);
        if (Array.isArray(q)) return sendError(res, q[0], 'bad_request', q[1]);
        const [status, result, code] = await store.list(q);
        return status === 200 ? sendJson(res, 200, result) : sendError(res, status, code, result);
      }
      if (req.method === 'POST') {
        let body;
        try {
          body = JSON.parse(await readBody(req));
        } catch (err) {
          if (err.status === 413) return sendError(res, 413, 'payload_too_large', `body over ${MAX_BODY} bytes`);
          return sendError(res, 400, 'bad_request', 'body must be valid JSON');
        }
        const fields = messageFields(body);
        if (Array.isArray(fields)) return sendError(res, fields[0], 'bad_request', fields[1]);
        const [status, result, code] = await store.add(fields);
        return status < 300 ? sendJson(res, status, result) : sendError(res, status, code, result);
      }
      return sendError(res, 405, 'method_not_allowed', 'use GET or POST', { Allow: 'GET, HEAD, POST' });
    }
    return sendError(res, 404, 'not_found', `no route ${url.pathname}`);
  }

  return http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error('unhandled error:', err);
      if (!res.headersSent) sendError(res, 500, 'internal_error', 'internal server error');
      else res.destroy();
    });
  });
}

// durable.js needs amqplib and mysql2, which an image built with DURABLE=0 lacks.
function loadDurable() {
  try {
    return require('./durable');
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
    console.error(`${SERVICE}: AMQP_URL is set but ${err.message.split('\n')[0]}: ` +
      'this image was built with DURABLE=0; rebuild it with DURABLE=1 or leave AMQP_URL empty');
    process.exit(1);
  }
}

function main() {
  const port = Number(process.env.PORT || 3000);
  const host = process.env.HOST || '0.0.0.0';
  const maxMessages = Number(process.env.MAX_MESSAGES || 1000);
  const store = process.env.AMQP_URL
    ? loadDurable().durableStore({
        amqpUrl: process.env.AMQP_URL,
        queue: process.env.QUEUE || 'chat.messages',
        db: {
          host: process.env.DB_HOST || 'mariadb',
          port: Number(process.env.DB_PORT || 3306),
          user: process.env.DB_USER || 'chat',
          password: process.env.DB_PASSWORD || '',
          database: process.env.DB_NAME || 'chat',
        },
      })
    : memoryStore(maxMessages);
  const server = createApp({ store });
  server.listen(port, host, () => {
    console.log(`${SERVICE} listening on ${host}:${server.address().port}`);
  });
  // As PID 1 in a container SIGTERM/SIGINT have no default action: stop on them.
  const stop = (signal) => {
    console.log(`${SERVICE}: ${signal}, shutting down`);
    server.close(() => process.exit(0));
    if (server.closeIdleConnections) server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

module.exports = { createApp, memoryStore };

if (require.main === module) main();
