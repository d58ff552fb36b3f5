package pgstore

import "strings"

// queries holds the SQL of a Store's operations, with the schema and channel filled in: every
// table is named with the schema, so that no statement depends on the search_path.
type queries struct {
	createNonce, getNonce, consumeNonce, addNonceFailure, deleteNonce, purgeNonces  string
	incrementCounter, resetCounter, purgeCounters                                   string
	createKey, listKeys, deleteKey, purgeKeys                                       string
	createSession, getSession, rotateRefresh, sessionState, revokeSession           string
	revokeUserSessions, listSessions, revokedSince, purgeSessions                   string
	createUser, getUser, userByWallet, linkWallet, lockUser, unlinkWallet           string
	getMetadata, setMetadata, deleteMetadata                                        string
	putTOTP, getTOTP, useTOTPStep, totpExists, resealTOTP, deleteTOTP               string
	deleteRecoveryCodes, insertRecoveryCodes, useRecoveryCode, countRecoveryCodes   string
	addContact, listContacts, getContact, verifyContact, setPrimaryContact          string
	deleteContact                                                                   string
	putCode, getCode, codeHash, consumeCode, deleteCode, addCodeFailure, purgeCodes string
	linkOAuth, unlinkOAuth, listOAuth                                               string
	listen                                                                          string
}

// newQueries fills in the templates of the SQL: {schema} becomes the schema's name as a quoted
// identifier, and {channel} the channel's name as a quoted string literal.
func newQueries(schema, channel string) *queries {
	r := strings.NewReplacer("{schema}", quoteIdent(schema), "{channel}", quoteLiteral(channel))
	return &queries{
		createNonce:         r.Replace(createNonceSQL),
		getNonce:            r.Replace(getNonceSQL),
		consumeNonce:        r.Replace(consumeNonceSQL),
		addNonceFailure:     r.Replace(addNonceFailureSQL),
		deleteNonce:         r.Replace(deleteNonceSQL),
		purgeNonces:         r.Replace(purgeNoncesSQL),
		incrementCounter:    r.Replace(incrementCounterSQL),
		resetCounter:        r.Replace(resetCounterSQL),
		purgeCounters:       r.Replace(purgeCountersSQL),
		createKey:           r.Replace(createKeySQL),
		listKeys:            r.Replace(listKeysSQL),
		deleteKey:           r.Replace(deleteKeySQL),
		purgeKeys:           r.Replace(purgeKeysSQL),
		createSession:       r.Replace(createSessionSQL),
		getSession:          r.Replace(getSessionSQL),
		rotateRefresh:       r.Replace(rotateRefreshSQL),
		sessionState:        r.Replace(sessionStateSQL),
		revokeSession:       r.Replace(revokeSessionSQL),
		revokeUserSessions:  r.Replace(revokeUserSessionsSQL),
		listSessions:        r.Replace(listSessionsSQL),
		revokedSince:        r.Replace(revokedSinceSQL),
		purgeSessions:       r.Replace(purgeSessionsSQL),
		createUser:          r.Replace(createUserSQL),
		getUser:             r.Replace(getUserSQL),
		userByWallet:        r.Replace(userByWalletSQL),
		linkWallet:          r.Replace(linkWalletSQL),
		lockUser:            r.Replace(lockUserSQL),
		unlinkWallet:        r.Replace(unlinkWalletSQL),
		getMetadata:         r.Replace(getMetadataSQL),
		setMetadata:         r.Replace(setMetadataSQL),
		deleteMetadata:      r.Replace(deleteMetadataSQL),
		putTOTP:             r.Replace(putTOTPSQL),
		getTOTP:             r.Replace(getTOTPSQL),
		useTOTPStep:         r.Replace(useTOTPStepSQL),
		totpExists:          r.Replace(totpExistsSQL),
		resealTOTP:          r.Replace(resealTOTPSQL),
		deleteTOTP:          r.Replace(deleteTOTPSQL),
		deleteRecoveryCodes: r.Replace(deleteRecoveryCodesSQL),
		insertRecoveryCodes: r.Replace(insertRecoveryCodesSQL),
		useRecoveryCode:     r.Replace(useRecoveryCodeSQL),
		countRecoveryCodes:  r.Replace(countRecoveryCodesSQL),
		addContact:          r.Replace(addContactSQL),
		listContacts:        r.Replace(listContactsSQL),
		getContact:          r.Replace(getContactSQL),
		verifyContact:       r.Replace(verifyContactSQL),
		setPrimaryContact:   r.Replace(setPrimaryContactSQL),
		deleteContact:       r.Replace(deleteContactSQL),
		putCode:             r.Replace(putCodeSQL),
		getCode:             r.Replace(getCodeSQL),
		codeHash:            r.Replace(codeHashSQL),
		consumeCode:         r.Replace(consumeCodeSQL),
		deleteCode:          r.Replace(deleteCodeSQL),
		addCodeFailure:      r.Replace(addCodeFailureSQL),
		purgeCodes:          r.Replace(purgeCodesSQL),
		linkOAuth:           r.Replace(linkOAuthSQL),
		unlinkOAuth:         r.Replace(unlinkOAuthSQL),
		listOAuth:           r.Replace(listOAuthSQL),
		listen:              "LISTEN " + quoteIdent(channel),
	}
}
