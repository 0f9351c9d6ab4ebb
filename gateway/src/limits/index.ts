export { TokenBucket } from './token-bucket.js';
export { createConnectRateLimiter, type ConnectRateLimiter, type ConnectRateLimiterOptions } from './connect-rate-limiter.js';
export { createClientAddressResolver, TrustedProxyError, type ClientAddressResolver } from './client-address.js';
export { parseIpAddress, type IpAddress } from './ip-address.js';
