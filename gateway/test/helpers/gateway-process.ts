/** The generic process helpers live in the cluster harness (also used by the load test). */
export { runGatewayExpectingFailure, spawnGateway, TSX_GATEWAY_COMMAND, type GatewayProcess, type SpawnGatewayOptions } from '../harness/gateway-process.js';
