import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostCheck } from '../../../src/cli/http/host-check.js';

describe('HostCheck: which Host headers the listener answers', () => {
  test('bound to one address: that address, loopback names, and allowedHosts, with the port', () => {
    const hosts = new HostCheck({ host: '192.0.2.5', port: 9465 }, ['backup1.example.com']);
    for (const ok of ['192.0.2.5:9465', 'localhost:9465', '127.0.0.1:9465', '[::1]:9465', 'backup1.example.com', 'backup1.example.com:80', undefined]) {
      assert.equal(hosts.allows(ok), true, ok);
    }
    for (const refused of ['192.0.2.6:9465', '192.0.2.5:9466', '192.0.2.5', 'evil.example:9465', 'backup1.example.com.evil.example']) {
      assert.equal(hosts.allows(refused), false, refused);
    }
    assert.equal(hosts.described, '192.0.2.5:9465, localhost:9465, 127.0.0.1:9465, [::1]:9465, backup1.example.com');
  });

  test('bound to every address (0.0.0.0 or ::): any IP address with the port, no name that is not configured', () => {
    for (const any of ['0.0.0.0', '::']) {
      const hosts = new HostCheck({ host: any, port: 9465 }, []);
      for (const ok of ['203.0.113.9:9465', '[2001:db8::5]:9465', 'localhost:9465']) assert.equal(hosts.allows(ok), true, `${any} ${ok}`);
      for (const refused of ['203.0.113.9:80', 'backup1.example.com:9465', 'evil.example:9465']) assert.equal(hosts.allows(refused), false, `${any} ${refused}`);
    }
  });

  test('bound to an IPv6 address or a name', () => {
    assert.equal(new HostCheck({ host: '2001:db8::7', port: 9465 }, []).allows('[2001:DB8:0::7]:9465'), true);
    assert.equal(new HostCheck({ host: 'backup1.example.com', port: 9465 }, []).allows('BACKUP1.example.com:9465'), true);
  });
});
