// Worker threads do not inherit tsx's loader from the main thread (Node 20): register it here, then load the
// TypeScript worker, the same way bin/pagw.js starts the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
