/**
 * The gRPC face of a Rekor log, on its own port as rekor-tiles serves it:
 * dev.sigstore.rekor.v2.Rekor/CreateEntry (the same admission and sequencing as POST
 * /api/v2/log/entries, through api's createEntry) and grpc.health.v1.Health (Check and Watch).
 * The service definitions are loaded from the vendored protos in proto/ (see proto/README.md).
 * Statuses follow rekor-tiles' server: InvalidArgument for a refused request, AlreadyExists with
 * the index in the `x-log-index` metadata for a duplicate, Unavailable on pushback, Unimplemented
 * when the log is frozen; codes come from the one table in api/errors.ts.
 */
import { fileURLToPath } from 'node:url';

import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';

import {
  admitOptions,
  createEntry,
  GRPC_CODE,
  healthOf,
  logServerError,
  MAX_REQUEST_SIZE,
  type Personality,
} from '../api/index.ts';
import type { AdmissionPool, KeyDetails } from '../entries/index.ts';
import { LogError } from '../errors.ts';
import type { Log } from '../sequencer/index.ts';

/** REKOR_SERVICE is the full name of the Rekor v2 service, also its health-check name. */
export const REKOR_SERVICE = 'dev.sigstore.rekor.v2.Rekor';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

// protojson's shapes (camelCase names, int64 and enums as strings, bytes as base64), so a decoded
// request is exactly what the HTTP API parses and an answer is exactly what it sends.
const LOAD_OPTIONS: loader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  bytes: String,
  defaults: false,
  oneofs: false,
  includeDirs: [PROTO_DIR],
};

/** GrpcOptions configures the gRPC server. */
export interface GrpcOptions {
  /** host and port to listen on (port 0: any free port). */
  readonly host: string;
  readonly port: number;
  /** allowedKeyDetails and acceptDsse are the admission policy, the HTTP API's (same defaults). */
  readonly allowedKeyDetails?: readonly KeyDetails[];
  readonly acceptDsse?: boolean;
  /**
   * admission runs Rekor admission on worker threads (the HTTP API's pool, made with the same
   * policy); without it, admission runs inline. The caller closes it.
   */
  readonly admission?: AdmissionPool;
  /** personality of the log: a generic log has no CreateEntry (Unimplemented). */
  readonly personality?: Personality;
  /** stuckAfterMs: the health service says NOT_SERVING once commits are stuck this long. */
  readonly stuckAfterMs?: number;
  /** watchIntervalMs is how often a Health/Watch stream re-checks the status (default 1 s). */
  readonly watchIntervalMs?: number;
}

/** GrpcServer is a listening gRPC server. */
export interface GrpcServer {
  /** address is host:port as bound (the real port when 0 was asked for). */
  readonly address: string;
  /** close stops accepting calls, lets running ones finish for a moment, then cancels them. */
  close(): Promise<void>;
}

interface ServiceDefs {
  readonly rekor: grpc.ServiceDefinition;
  readonly health: grpc.ServiceDefinition;
}

let defs: ServiceDefs | undefined;

function serviceDefs(): ServiceDefs {
  if (defs) return defs;
  const pkg = loader.loadSync(
    ['rekor/v2/rekor_service.proto', 'grpc/health/v1/health.proto'],
    LOAD_OPTIONS,
  );
  const service = (name: string) => pkg[name] as grpc.ServiceDefinition;
  defs = { rekor: service(REKOR_SERVICE), health: service('grpc.health.v1.Health') };
  return defs;
}

/** startGrpcServer serves log's CreateEntry and health over gRPC (plaintext HTTP/2). */
export async function startGrpcServer(log: Log, opts: GrpcOptions): Promise<GrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_REQUEST_SIZE,
  });
  const { rekor, health } = serviceDefs();
  server.addService(rekor, rekorService(log, opts));
  server.addService(health, healthService(log, opts));
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

function rekorService(log: Log, opts: GrpcOptions): grpc.UntypedServiceImplementation {
  const admit = admitOptions(opts);
  const unimplemented = (method: string) => (_: unknown, cb: grpc.sendUnaryData<unknown>) =>
    cb({ code: grpc.status.UNIMPLEMENTED, details: `method ${method} not implemented` });
  const createEntryCall: grpc.handleUnaryCall<unknown, unknown> = (call, cb) => {
    if (opts.personality === 'generic') {
      cb({ code: grpc.status.UNIMPLEMENTED, details: 'a generic log takes entries at POST add' });
      return;
    }
    createEntry(log, call.request, admit, opts.admission).then(
      (r) => {
        if (r.duplicate === undefined) return cb(null, r.entry);
        const metadata = new grpc.Metadata();
        metadata.set('x-log-index', String(r.duplicate));
        cb({ code: grpc.status.ALREADY_EXISTS, details: r.message, metadata });
      },
      (err: unknown) => cb(statusOf(err)),
    );
  };
  // Reads are served over HTTP only, as rekor-tiles does (its gRPC read methods are stubs).
  return {
    CreateEntry: createEntryCall,
    GetTile: unimplemented('GetTile'),
    GetEntryBundle: unimplemented('GetEntryBundle'),
    GetCheckpoint: unimplemented('GetCheckpoint'),
  };
}

/** statusOf maps a refusal to its gRPC status with the same one-line reason HTTP gives. */
function statusOf(err: unknown): Partial<grpc.StatusObject> {
  if (!(err instanceof LogError)) {
    logServerError(err);
    return { code: grpc.status.INTERNAL, details: 'internal error' };
  }
  if (GRPC_CODE[err.code] === grpc.status.INTERNAL) logServerError(err);
  return { code: GRPC_CODE[err.code], details: err.message.replace(/[\r\n]+/g, ' ') };
}

function healthService(log: Log, opts: GrpcOptions): grpc.UntypedServiceImplementation {
  // grpc.health.v1: the server's overall health is asked with service "", one service by its name.
  const statusFor = (service: string) =>
    service === '' || service === REKOR_SERVICE
      ? healthOf(log, opts.stuckAfterMs)
      : 'SERVICE_UNKNOWN';
  const check: grpc.handleUnaryCall<{ service?: string }, unknown> = (call, cb) => {
    const status = statusFor(call.request.service ?? '');
    if (status === 'SERVICE_UNKNOWN')
      cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
    else cb(null, { status });
  };
  const watch: grpc.handleServerStreamingCall<{ service?: string }, unknown> = (call) => {
    let last = '';
    const send = () => {
      const status = statusFor(call.request.service ?? '');
      if (status !== last) call.write({ status });
      last = status;
    };
    send();
    const timer = setInterval(send, opts.watchIntervalMs ?? 1000);
    const stop = () => clearInterval(timer);
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
  };
  return { Check: check, Watch: watch };
}
