'use strict';
// The chat's durable store: RabbitMQ in front (a durable queue, persistent messages,
// publisher confirms), MariaDB behind (a consumer inserts, then acknowledges). Both
// connections are retried every RETRY_MS for as long as it takes.
const crypto = require('crypto');
const amqp = require('amqplib');
const mysql = require('mysql2/promise');

const RETRY_MS = 2000;
// A peer that vanishes without closing (its host powered off) sends no FIN or RST: AMQP
// heartbeats and per-query timeouts notice it, so the service reconnects by itself.
const HEARTBEAT_S = 5;
const QUERY_TIMEOUT_MS = 5000;

const SCHEMA = `CREATE TABLE IF NOT EXISTS messages (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  uuid CHAR(36) NOT NULL UNIQUE,
  room VARCHAR(100) NOT NULL,
  user VARCHAR(100) NOT NULL,
  text TEXT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  INDEX (room, id)
) CHARACTER SET utf8mb4`;

function durableStore({ amqpUrl, queue, db }) {
  const pool = mysql.createPool({
    ...db,
    connectionLimit: 4,
    connectTimeout: 5000,
    dateStrings: false,
    enableKeepAlive: true,
    keepAliveInitialDelay: 10000,
  });
  const query = (sql, values) => pool.query({ sql, values, timeout: QUERY_TIMEOUT_MS });
  let schemaReady = false;
  let publishChannel = null; // a confirm channel, once connected
  let lastAmqpError = 'connecting';

  async function ensureSchema() {
    if (!schemaReady) {
      await query(SCHEMA);
      schemaReady = true;
    }
  }

  async function store(message) {
    await ensureSchema();
    // INSERT IGNORE: a message delivered again (its ack lost) is stored once.
    await query('INSERT IGNORE INTO messages (uuid, room, user, text, created_at) VALUES (?, ?, ?, ?, ?)', [
      message.uuid,
      message.room,
      message.user,
      message.text,
      new Date(message.created_at),
    ]);
  }

  function retryLater(reason) {
    lastAmqpError = reason;
    publishChannel = null;
    setTimeout(connect, RETRY_MS).unref();
  }

  async function connect() {
    let conn;
    try {
      const url = new URL(amqpUrl);
      if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(HEARTBEAT_S));
      conn = await amqp.connect(url.toString(), { timeout: 5000 });
    } catch (err) {
      return retryLater(err.code || err.message);
    }
    conn.on('error', (err) => console.error('chat: amqp connection error:', err.message));
    conn.on('close', () => {
      console.error('chat: amqp connection closed, reconnecting');
      retryLater('connection closed');
    });
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue(queue, { durable: true });
      const consumer = await conn.createChannel();
      await consumer.assertQueue(queue, { durable: true });
      await consumer.prefetch(16);
      await consumer.consume(queue, async (msg) => {
        if (!msg) return;
        try {
          await store(JSON.parse(msg.content.toString('utf8')));
          consumer.ack(msg);
        } catch (err) {
          // The database is away: the message stays queued, tried again later.
          console.error('chat: storing a message failed, requeued:', err.code || err.message);
          setTimeout(() => {
            try {
              consumer.nack(msg, false, true);
            } catch (_) {
              /* the channel closed: the broker requeues it by itself */
            }
          }, RETRY_MS).unref();
        }
      });
      publishChannel = ch;
      lastAmqpError = null;
      console.log(`chat: connected to the broker, queue ${queue}`);
    } catch (err) {
      console.error('chat: amqp setup failed:', err.message);
      try {
        await conn.close();
      } catch (_) {
        /* already closing */
      }
    }
  }
  connect();

  return {
    async add(fields) {
      if (!publishChannel) return [503, `the message queue is unavailable (${lastAmqpError})`, 'queue_unavailable'];
      const message = { uuid: crypto.randomUUID(), ...fields, created_at: new Date().toISOString() };
      try {
        const ch = publishChannel;
        ch.sendToQueue(queue, Buffer.from(JSON.stringify(message)), { persistent: true, contentType: 'application/json' });
        let timer;
        const timeout = new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no confirm within 5 s')), 5000);
        });
        await Promise.race([ch.waitForConfirms(), timeout]).finally(() => clearTimeout(timer));
      } catch (err) {
        return [503, `the message queue did not confirm (${err.message})`, 'queue_unavailable'];
      }
      return [202, { status: 'queued', ...message }];
    },
    async list({ room, since, limit }) {
      try {
        await ensureSchema();
        const where = room ? 'WHERE id > ? AND room = ?' : 'WHERE id > ?';
        const params = room ? [since, room] : [since];
        const [rows] = await query(
          `SELECT id, uuid, room, user, text, created_at FROM messages ${where} ORDER BY id DESC LIMIT ${Number(limit)}`,
          params
        );
        return [200, rows.reverse().map((r) => ({ ...r, id: Number(r.id), created_at: new Date(r.created_at).toISOString() }))];
      } catch (err) {
        return [503, `the database is unavailable (${err.code || err.message})`, 'database_unavailable'];
      }
    },
    async dependencies() {
      const queueStatus = publishChannel ? { status: 'ok' } : { status: 'unavailable', reason: lastAmqpError };
      let database;
      try {
        await query('SELECT 1');
        database = { status: 'ok' };
      } catch (err) {
        database = { status: 'unavailable', reason: err.code || err.message };
      }
      return { queue: queueStatus, database };
    },
  };
}

module.exports = { durableStore };
