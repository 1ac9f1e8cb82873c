'use strict';
// requests: work requests that point at tasks, on Node's built-in http module only (no
// npm dependencies, so it builds offline). Requests live in memory; a request may name
// a task of the tasks service, which is checked over HTTP when the request is made.
//
// Environment:
//   PORT        TCP port (default 3000)
//   HOST        address to bind (default 0.0.0.0)
//   TASKS_URL   the tasks service (default http://tasks:5000)
//   TIMEOUT_MS  how long a call to tasks may take (default 2000)
//
// Endpoints (JSON in, JSON out):
//   GET  /health               {"status":"ok","service":"requests"}
//   GET  /health/dependencies  {"service":"requests","dependencies":{"tasks":{"status":"ok"|"unavailable",...}}}
//                              200 when tasks answers, else 503
//   GET  /requests             all requests, oldest first
//   POST /requests             {"title": str, "requester": str, "task_id": str (optional)}
//                              -> 201 {id, title, requester, task_id, task_status, created_at}
//                              task_status: "linked" (tasks knows it), or without task_id "none";
//                              400 when tasks says there is no such task, 503 when tasks cannot
//                              confirm it (unreachable, or its database unavailable)
// Errors: 400 (bad JSON or fields), 404, 405, 413 (body over 64 KiB).

const http = require('http');

const SERVICE = 'requests';
const MAX_BODY = 64 * 1024;

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

// GET url -> {status, body} (body parsed when JSON); rejects when unreachable or slow.
function getJson(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let body = null;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (_) {
          body = null;
        }
        resolve({ status: res.statusCode, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function validString(value, max) {
  return typeof value === 'string' && value.trim() !== '' && value.length <= max;
}

function createApp({ tasksUrl = 'http://tasks:5000', timeoutMs = 2000 } = {}) {
  const requests = [];
  let nextId = 1;

  async function tasksStatus() {
    try {
      const r = await getJson(`${tasksUrl}/health`, timeoutMs);
      if (r.status === 200 && r.body && r.body.service === 'tasks') return { status: 'ok', url: tasksUrl };
      return { status: 'unavailable', url: tasksUrl, reason: `answered ${r.status}` };
    } catch (err) {
      return { status: 'unavailable', url: tasksUrl, reason: err.code || err.message };
    }
  }

  // [status, result]: the stored request, or an error status and message.
  async function addRequest(body) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return [400, 'body must be a JSON object'];
    if (!validString(body.title, 500)) return [400, "'title' must be a non-empty string (at most 500 characters)"];
    if (!validString(body.requester, 200)) return [400, "'requester' must be a non-empty string (at most 200 characters)"];
    const taskId = body.task_id === undefined || body.task_id === null ? null : body.task_id;
    if (taskId !== null && !/^[0-9a-f]{24}$/.test(String(taskId))) return [400, "'task_id' must be a task id"];
    let taskStatus = 'none';
    if (taskId !== null) {
      let r;
      try {
        r = await getJson(`${tasksUrl}/tasks/${taskId}`, timeoutMs);
      } catch (err) {
        return [503, `tasks service unreachable (${err.code || err.message})`, 'tasks_unavailable'];
      }
      if (r.status === 404) return [400, `no task ${taskId}`];
      if (r.status !== 200) return [503, `tasks service answered ${r.status}`, 'tasks_unavailable'];
      taskStatus = 'linked';
    }
    const request = {
      id: nextId++,
      title: body.title.trim(),
      requester: body.requester.trim(),
      task_id: taskId,
      task_status: taskStatus,
      created_at: new Date().toISOString(),
    };
    requests.push(request);
    return [201, request];
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (url.pathname === '/health') {
      if (!get) return sendError(res, 405, 'method_not_allowed', 'use GET', { Allow: 'GET, HEAD' });
      return sendJson(res, 200, { status: 'ok', service: SERVICE });
    }
    if (url.pathname === '/health/dependencies') {
      if (!get) return sendError(res, 405, 'method_not_allowed', 'use GET', { Allow: 'GET, HEAD' });
      const tasks = await tasksStatus();
      return sendJson(res, tasks.status === 'ok' ? 200 : 503, { service: SERVICE, dependencies: { tasks } });
    }
    if (url.pathname === '/requests') {
      if (get) return sendJson(res, 200, requests);
      if (req.method === 'POST') {
        let body;
        try {
          body = JSON.parse(await readBody(req));
        } catch (err) {
          if (err.status === 413) return sendError(res, 413, 'payload_too_large', `body over ${MAX_BODY} bytes`);
          return sendError(res, 400, 'bad_request', 'body must be valid JSON');
        }
        const [status, result, code] = await addRequest(body);
        if (status === 201) return sendJson(res, 201, result);
        return sendError(res, status, code || 'bad_request', result);
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
  const server = createApp({
    tasksUrl: (process.env.TASKS_URL || 'http://tasks:5000').replace(/\/+$/, ''),
    timeoutMs: Number(process.env.TIMEOUT_MS || 2000),
  });
  server.listen(port, host, () => console.log(`${SERVICE} listening on ${host}:${server.address().port}`));
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
