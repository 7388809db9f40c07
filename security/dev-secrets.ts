/**
 * The public development default of the agencies' callback signing secret: Kaiban's configuration and the agency
 * simulator fall back to it when nothing is set, so that `npm start` works out of the box — and production refuses it
 * (config/index.ts), as it refuses docker-compose's own public default.
 */
export const DEV_AGENCY_CALLBACK_SECRET = 'dev-agency-callback-secret';
export const COMPOSE_DEV_AGENCY_CALLBACK_SECRET = 'compose-dev-agency-callback-secret';
