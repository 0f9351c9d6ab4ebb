/** The generic process helpers live in the cluster harness (also used by the load test). */
export { runGatewayExpectingFailure, spawnGateway, type GatewayProcess, type SpawnGatewayOptions } from '../harness/gateway-process.js';
