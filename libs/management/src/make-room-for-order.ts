// Management's names for the team order lock and shift, which live in libs/db with the rest of the SQL.
export { lockTeamConfigOrder as lockTeamOrder, makeRoomForConfigOrder as makeRoomForOrder } from '@plugin-server/db'
