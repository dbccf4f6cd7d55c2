import { BACKEND_CASES } from '../src/index.ts';
import { incrementalSyncProperty } from './property-sync.ts';

incrementalSyncProperty(BACKEND_CASES.filter((c) => c.id.startsWith('iptables/')));
