export { startCluster, type Cluster, type ClusterOptions, type ClusterPod } from './cluster.js';
export { BUILT_GATEWAY_COMMAND, REPO_ROOT, TSX_GATEWAY_COMMAND, runGatewayExpectingFailure, spawnGateway, type GatewayProcess, type SpawnGatewayOptions } from './gateway-process.js';
export { DEFAULT_HASH_KEY, normalizeHashKey, renderNginxConfig, type NginxConfigOptions, type NginxUpstream } from './nginx-config.js';
export { NginxError, hardOpenFilesLimit, startNginx, withoutQueryStrings, type NginxProcess, type NginxSettings, type StartNginxOptions } from './nginx-process.js';
export { FakeKubeApi, type FakeEndpointSlice, type RecordedRequest } from './fake-kube-api.js';
export { childPids, isAlive } from './process-tree.js';
export { freePort } from './free-port.js';
