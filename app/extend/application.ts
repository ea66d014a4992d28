import crypto from 'node:crypto';
import os from 'node:os';
import { SingleFlight } from '../lib/single_flight';

const FLIGHTS = Symbol('Application#tokenFlights');
const HOLDER = Symbol('Application#tokenHolderId');

interface Cache {
  [FLIGHTS]?: SingleFlight;
  [HOLDER]?: string;
}

export default {
  /** One refresh at a time per token key inside this process. */
  get tokenFlights(): SingleFlight {
    const self = this as Cache;
    self[FLIGHTS] ??= new SingleFlight();
    return self[FLIGHTS];
  },

  /** Names this process (and app instance) as a holder of the cross-process refresh lease. */
  get tokenHolderId(): string {
    const self = this as Cache;
    self[HOLDER] ??= `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
    return self[HOLDER];
  },
};
