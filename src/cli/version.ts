// Where the CLI's modules have always found it; the IMAP stage needs it too, so it lives in stage 0.
export { packageVersion } from '../about/package-identity.js';
