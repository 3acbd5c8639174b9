/** The gRPC server: Rekor v2 CreateEntry and grpc.health.v1, beside the HTTP API. */
export type { GrpcOptions, GrpcServer } from './server.ts';
export { REKOR_SERVICE, startGrpcServer } from './server.ts';
