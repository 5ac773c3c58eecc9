import { describe, expect, it } from 'vitest';

import { ClockOffset } from './clock-offset.js';

const serverTime = Date.parse('2027-01-15T08:00:00Z');

describe('ClockOffset', () => {
  it('starts at zero', () => {
    expect(new ClockOffset().milliseconds).toBe(0);
  });

  it('takes the upper end of what a Date header allows', () => {
    const offset = new ClockOffset();
    offset.observeDateHeader('Fri, 15 Jan 2027 08:00:00 GMT', serverTime - 600_000);

    expect(offset.milliseconds).toBe(601_000);
  });

  it('follows the latest Date header, behind or ahead', () => {
    const offset = new ClockOffset();
    offset.observeDateHeader('Fri, 15 Jan 2027 08:00:00 GMT', serverTime - 600_000);
    offset.observeDateHeader('Fri, 15 Jan 2027 08:00:00 GMT', serverTime + 600_000);

    expect(offset.milliseconds).toBe(-599_000);
  });

  it('ignores a missing or unparsable Date header', () => {
    const offset = new ClockOffset();
    offset.observeDateHeader(null, 0);
    offset.observeDateHeader('yesterday', 0);

    expect(offset.milliseconds).toBe(0);
  });

  it('uses iat as a lower bound before any Date header', () => {
    const offset = new ClockOffset();
    offset.observeIssuedAt(serverTime / 1000, serverTime - 600_000);

    expect(offset.milliseconds).toBe(600_000);
  });

  it('assumes no offset from an old iat', () => {
    const offset = new ClockOffset();
    offset.observeIssuedAt(serverTime / 1000 - 3600, serverTime);

    expect(offset.milliseconds).toBe(0);
  });

  it('keeps the iat bound when a Date header says less', () => {
    const offset = new ClockOffset();
    offset.observeIssuedAt(serverTime / 1000, serverTime - 600_000);
    offset.observeDateHeader('Fri, 15 Jan 2027 08:00:00 GMT', serverTime);

    expect(offset.milliseconds).toBe(600_000);
  });
});
