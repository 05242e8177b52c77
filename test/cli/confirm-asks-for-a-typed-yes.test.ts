import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { confirmWrite } from '../../src/cli/confirm.js';

function terminal(answer: string) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.ReadStream;
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  let asked = '';
  (stderr as PassThrough).on('data', (c: Buffer) => (asked += c.toString('utf8')));
  // Answer once the question has been written, as a person would.
  (stderr as PassThrough).once('data', () => (stdin as unknown as PassThrough).write(`${answer}\n`));
  return { stdin, stderr, asked: () => asked };
}

describe('the typed "yes" before any write', () => {
  it('proceeds on "yes" and shows the question on stderr', async () => {
    const t = terminal('yes');
    await expect(confirmWrite('About to push sk_live_…a1b2 to 3 sites.', {}, t)).resolves.toBeUndefined();
    expect(t.asked()).toContain('Type "yes" to continue');
  });

  it.each(['y', 'YES please', '', 'no'])('cancels on %j (exit 130)', async (answer) => {
    await expect(confirmWrite('About to push.', {}, terminal(answer))).rejects.toMatchObject({ exitCode: 130 });
  });

  it('needs no terminal with --yes or --force', async () => {
    const noTty = { stdin: new PassThrough() as unknown as NodeJS.ReadStream };
    await expect(confirmWrite('x', { yes: true }, noTty)).resolves.toBeUndefined();
    await expect(confirmWrite('x', { force: true }, noTty)).resolves.toBeUndefined();
  });

  it('refuses without a terminal and without --yes (exit 2)', async () => {
    const noTty = { stdin: new PassThrough() as unknown as NodeJS.ReadStream };
    await expect(confirmWrite('x', {}, noTty)).rejects.toMatchObject({ exitCode: 2 });
  });
});
