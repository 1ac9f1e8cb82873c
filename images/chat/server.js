'use strict';
// chat: a tiny chat service on Node's built-in http module only (no npm
// dependencies, so it runs offline).  Messages live in memory.
//
// Environment:
//   PORT          TCP port (default 3000)
//   HOST          address to bind (default 0.0.0.0)
//   MAX_MESSAGES  messages kept in memory, oldest dropped first (default 1000)
//
// Endpoints (JSON in, JSON out):
//   GET  /health     {"status":"ok","service":"chat"}
//   GET  /messages   messages, oldest first (?room=R, ?since=ID: only ids > ID,
//                    ?limit=N: the newest N, 1..1000, default 100)
//   POST /messages   {"user": str, "text": str, "room": str (default "general")}
//                    -> 201 with the stored message {id, room, user, text, created_at}
// Errors: 400 (bad JSON or fields), 404, 405, 413 (body over 64 KiB).

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

function createApp({ maxMessages = 1000 } = {}) {
  const messages = [];
  let nextId = 1;

  function listMessages(url) {
    const room = url.searchParams.get('room');
    const since = Number(url.searchParams.get('since') || 0);
    const limitText = url.searchParams.get('limit') || '100';
    const limit = Number(limitText);
    if (!Number.isInteger(since) || since < 0) return [400, 'since must be a message id'];
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      return [400, `limit must be an integer in 1..${MAX_LIMIT}`];
    }
    const found = messages.filter((m) => m.id > since && (!room || m.room === room));
    return [200, found.slice(-limit)];
  }

  function addMessage(body) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return [400, 'body must be a JSON object'];
    }
    const room = body.room === undefined ? 'general' : body.room;
    if (!validString(body.user, 100)) return [400, "'user' must be a non-empty string (at most 100 characters)"];
    if (!validString(body.text, 2000)) return [400, "'text' must be a non-empty string (at most 2000 characters)"];
    if (!validString(room, 100)) return [400, "'room' must be a non-empty string (at most 100 characters)"];
    const message = {
      id: nextId++,
      room: room.trim(),
      user: body.user.trim(),
      text: body.text,
      created_at: new Date().toISOString(),
    };
    messages.push(message);
    if (messages.length > maxMessages) messages.splice(0, messages.length - maxMessages);
    return [201, message];
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return sendError(res, 405, 'method_not_allowed', 'use GET', { Allow: 'GET, HEAD' });
      }
      return sendJson(res, 200, { status: 'ok', service: SERVICE });
    }
    if (url.pathname === '/messages') {
      if (req.method === 'GET' || req.method === 'HEAD') {
        const [status, result] = listMessages(url);
        return status === 200 ? sendJson(res, 200, result) : sendError(res, status, 'bad_request', result);
      }
      if (req.method === 'POST') {
        let body;
        try {
          body = JSON.parse(await readBody(req));
        } catch (err) {
          if (err.status === 413) return sendError(res, 413, 'payload_too_large', `body over ${MAX_BODY} bytes`);
          return sendError(res, 400, 'bad_request', 'body must be valid JSON');
        }
        const [status, result] = addMessage(body);
        return status === 201 ? sendJson(res, 201, result) : sendError(res, status, 'bad_request', result);
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

function main() {
  const port = Number(process.env.PORT || 3000);
  const host = process.env.HOST || '0.0.0.0';
  const maxMessages = Number(process.env.MAX_MESSAGES || 1000);
  const server = createApp({ maxMessages });
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

module.exports = { createApp };

if (require.main === module) main();
