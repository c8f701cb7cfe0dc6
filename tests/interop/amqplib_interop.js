// amqplib interop scenarios, run by test_amqplib.py: node amqplib_interop.js URL SCENARIO
// Prints "OK" and exits 0 when every check passed; prints the failure and exits 1.
'use strict';
const amqp = require('amqplib');
const assert = require('assert');

function withDeadline(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('deadline: ' + what)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

const scenarios = {
  async basic(conn) {
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    assert.ok(queue.startsWith('amq.gen-'));
    for (let i = 0; i < 10; i++) {
      ch.sendToQueue(queue, Buffer.from('m' + i), { contentType: 'text/plain', headers: { i } });
    }
    const first = await ch.get(queue, { noAck: false });
    assert.strictEqual(first.content.toString(), 'm0');
    assert.strictEqual(first.properties.contentType, 'text/plain');
    assert.strictEqual(first.properties.headers.i, 0);
    assert.strictEqual(first.fields.messageCount, 9);
    ch.ack(first);
    const got = [];
    await ch.prefetch(2);
    await withDeadline(new Promise((resolve) => {
      ch.consume(queue, (msg) => {
        got.push(msg.content.toString());
        ch.ack(msg);
        if (got.length === 9) resolve();
      });
    }), 5000, 'consume 9 messages');
    assert.deepStrictEqual(got, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    await ch.close();
  },

  async confirm(conn) {
    const ch = await conn.createConfirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    for (let i = 0; i < 50; i++) ch.sendToQueue(queue, Buffer.from('c' + i));
    await withDeadline(ch.waitForConfirms(), 5000, 'confirms');
    const q = await ch.checkQueue(queue);
    assert.strictEqual(q.messageCount, 50);
    await ch.close();
  },

  async routing(conn) {
    const ch = await conn.createChannel();
    const ex = 'amqplib-topic-' + process.pid;
    await ch.assertExchange(ex, 'topic', { autoDelete: false });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, ex, 'stock.*.nyse');
    ch.publish(ex, 'stock.ibm.nyse', Buffer.from('yes'));
    ch.publish(ex, 'stock.ibm.lse', Buffer.from('no'));
    const m = await ch.get(queue, { noAck: true });
    assert.strictEqual(m.content.toString(), 'yes');
    assert.strictEqual(m.fields.routingKey, 'stock.ibm.nyse');
    assert.strictEqual(await ch.get(queue, { noAck: true }), false);
    await ch.deleteExchange(ex);
    await ch.close();
  },

  async returns(conn) {
    const ch = await conn.createChannel();
    const returned = withDeadline(new Promise((resolve) => ch.on('return', resolve)), 5000,
      'basic.return');
    ch.publish('amq.direct', 'nobody-home', Buffer.from('bounce'), { mandatory: true });
    const r = await returned;
    assert.strictEqual(r.fields.replyCode, 312);
    assert.strictEqual(r.fields.replyText, 'NO_ROUTE');
    assert.strictEqual(r.content.toString(), 'bounce');
    await ch.close();
  },

  async errors(conn) {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    let err = null;
    try {
      await ch.checkQueue('amqplib-no-such-queue');
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'passive declare of a missing queue fails');
    assert.strictEqual(err.code, 404);
    const ch2 = await conn.createChannel();
    await ch2.assertQueue('', { exclusive: true });
    await ch2.close();
  },

  async nack(conn) {
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('again'));
    const m = await ch.get(queue);
    ch.nack(m, false, true);
    const m2 = await ch.get(queue, { noAck: true });
    assert.strictEqual(m2.content.toString(), 'again');
    assert.strictEqual(m2.fields.redelivered, true);
    await ch.close();
  },
};

async function main() {
  const [url, scenario] = process.argv.slice(2);
  const conn = await amqp.connect(url);
  await scenarios[scenario](conn);
  await conn.close();
  console.log('OK');
}

main().catch((e) => {
  console.error('FAILED:', e && e.stack ? e.stack : e);
  process.exit(1);
});
