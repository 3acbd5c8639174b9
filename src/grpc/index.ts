/** The gRPC server: Rekor v2 CreateEntry and grpc.health.v1, beside the HTTP API. */
export { startGrpcServer } from './server.ts';
