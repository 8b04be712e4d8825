import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceGate } from '../src/source-gate.ts';

function applicant(name: string, answers: string[]) {
  return { admit: () => answers.push(`${name} admitted`), refuse: () => answers.push(`${name} refused`) };
}

test('one source at a time: one successor waits for its slot, any more are refused at once', () => {
  const answers: string[] = [];
  const gate = new SourceGate(1, 60_000);
  gate.apply(applicant('a', answers));
  gate.apply(applicant('b', answers));
  gate.apply(applicant('c', answers));
  assert.deepEqual(answers, ['a admitted', 'c refused']);
  gate.release();
  assert.deepEqual(answers, ['a admitted', 'c refused', 'b admitted']);
  gate.close();
});

test('a waiting applicant is refused after the handover time; one that went away is not answered', async () => {
  const answers: string[] = [];
  const gate = new SourceGate(1, 50);
  gate.apply(applicant('a', answers));
  const gone = applicant('gone', answers);
  gate.apply(gone);
  gate.withdraw(gone);
  gate.apply(applicant('late', answers));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(answers, ['a admitted', 'late refused']);
  gate.release();
  gate.apply(applicant('next', answers));
  assert.deepEqual(answers, ['a admitted', 'late refused', 'next admitted']);
});

test('while sources are not read, the handover clock stands still', async () => {
  const answers: string[] = [];
  const gate = new SourceGate(1, 50);
  gate.apply(applicant('a', answers));
  gate.setReading(false);
  gate.apply(applicant('b', answers));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(answers, ['a admitted'], 'b still waits');
  gate.setReading(true);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(answers, ['a admitted', 'b refused']);
});
